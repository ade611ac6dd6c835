"""Scenario sets: standardised shock vectors, fixed per epoch, scaled by today's vols.

Every scenario ``s`` is a standardised vector ``z[s]`` (U,), per-underlying relative
ATM implied-vol shocks ``v[s]`` (U,) and skew shocks ``kappa[s]`` (U,) (the option rule
is in :mod:`calcm.risk.instruments`). Its simple return over the MPOR (h days) is::

    r[s, u] = max(z[s, u] * sqrt(V_u), MIN_RETURN),   V_u = max(V_h,u, h var_floor_u)

with ``V_h,u`` the GARCH h-step forecast variance from today's state and
``var_floor_u`` the APC floor (docs/MODEL.md §4). The z-vectors are fixed for an
epoch; only the variance moves per block (what the model circuit proves).

Kinds of scenario (built by :func:`build_scenarios`, deterministic given inputs):

- ``fhs``: filtered historical simulation. Historical standardised residual
  vectors ``z_t``, re-correlated from their own predicted EWMA correlation
  ``R_{t-1}`` to today's (unstressed) correlation: ``z*_t = L_today L_{t-1}^{-1} z_t``
  (``L`` lower Cholesky factors), then each asset's column rescaled to the RMS
  of its raw residuals on the same days (:func:`match_scale`: re-correlation must
  not change an asset's volatility). The last ``n_fhs`` days (or ``n_fhs`` evenly
  spaced days). Vol shock ``v[s, u] = clip(vol_of_vol * (|z[s, u]| - 1), lo, hi)``
  (the asset's own move size): large moves raise its implied vols, calm days lower them.
- ``stress``: ``n_stress`` of the same FHS days re-correlated to the stressed
  correlation ``R_stress = (1 - w) R_today + w 1 1^T`` instead (column scale
  matched over the whole FHS window, same vol-shock rule), on the days chosen by
  :func:`stress_days`. These are added, never substituted: see "Superset rule".
- ``worst`` / ``best``: the ``n_extreme`` days with the lowest / highest
  equally-weighted mean residual, their raw ``z`` (the crash as it happened).
- ``crash`` / ``rally``: correlation-to-one, every asset ``-k_u`` / ``+k_u``
  with ``k_u`` the standardised Student-t(``nu_u``) quantile at ``stress_quantile``.
- ``breakdown``: for every ordered pair (a, b): ``z_a = +k_a``, ``z_b = -k_b``
  (quantile ``breakdown_quantile``), others 0; a long/short hedge of two
  correlated assets always meets the move that breaks it.
- ``vol``: no price move, implied vols up (``vol_spike``) or down (``vol_crush``).

The non-historical kinds broadcast one vol shock to every underlying (``worst``,
``crash``, ``breakdown``: ``crash_vol_shock``; ``best``, ``rally``: ``rally_vol_shock``).
Every kind has skew shock ``kappa[s, u] = clip(skew_beta * z[s, u], -skew_max, skew_max)``:
a sell-off (z < 0) steepens the put skew (low strikes' vols up, high strikes' down);
``vol`` rows have z = 0, so kappa = 0.

Superset rule. Blending every FHS scenario toward correlation one (the v1 rule)
lowers the ES of long/short books: a stress that can lower a requirement is not a
stress. Since v2 the stressed scenarios are extra rows: with ``k`` fixed, the mean
of the ``k`` largest losses over a set is at least the mean of the ``k`` largest
over any subset, so for EVERY book ES(full set) >= ES(set without ``stress``)
(:func:`es_without_stress`; float and fixed point alike, as ``ceil`` is monotone).

The content hash :meth:`ScenarioSet.hash` is sha256 over a canonical encoding
(header JSON with sorted keys, then ``z``, ``v`` and ``kappa`` as little-endian float64,
row-major, in that order; v3 since the shocks became (S, U)).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np
from scipy import stats

from .correlation import CorrelationPath, cholesky
from .instruments import MONEYNESS_CAP

#: Floor on a scenario simple return: a price never goes to zero or below.
MIN_RETURN = -0.95
HASH_DOMAIN = b"calcm-scenarios-v3\n"
#: Kind label of the stressed FHS scenarios (the rows :func:`es_without_stress` drops).
STRESS_KIND = "stress"


@dataclass(frozen=True)
class ScenarioParams:
    """How a scenario set is built (all defaults documented in docs/MODEL.md)."""

    n_fhs: int = 480
    fhs_selection: str = "last"        # "last" n_fhs days or "even"ly spaced over the history
    n_stress: int = 20                 # FHS days re-correlated to R_stress (:func:`stress_days`)
    n_extreme: int = 5                 # worst and best historical days
    stress_quantile: float = 0.999     # crash / rally size (Student-t quantile)
    breakdown_quantile: float = 0.995  # pair breakdown size
    vol_of_vol: float = 0.10           # FHS vol shock per unit of (rms(z) - 1)
    vol_shock_min: float = -0.30
    vol_shock_max: float = 1.00
    crash_vol_shock: float = 0.50
    rally_vol_shock: float = 0.25
    vol_spike: float = 0.50
    vol_crush: float = -0.30
    skew_beta: float = 0.10            # skew shock per unit of z (judgment value, not fitted)
    skew_max: float = 0.50             # |skew shock| cap

    def __post_init__(self):
        if self.n_fhs < 0 or self.n_extreme < 0 or self.n_stress < 0:
            raise ValueError("n_fhs, n_stress and n_extreme must be >= 0")
        if self.fhs_selection not in ("last", "even"):
            raise ValueError(f"fhs_selection must be 'last' or 'even', got {self.fhs_selection!r}")
        for q in (self.stress_quantile, self.breakdown_quantile):
            if not (0.5 < q < 1):
                raise ValueError(f"quantiles must be in (0.5, 1), got {q}")
        if not (-1 < self.vol_shock_min <= 0 <= self.vol_shock_max):
            raise ValueError("need -1 < vol_shock_min <= 0 <= vol_shock_max")
        if not (self.skew_beta >= 0 and self.skew_max >= 0):
            raise ValueError("need skew_beta >= 0 and skew_max >= 0")
        if not (1 + self.vol_shock_min - self.skew_max * MONEYNESS_CAP > 0.25):
            # the scenario vol multiplier 1 + v + kappa m stays >= 0.25 (the fixed-point range)
            raise ValueError("need 1 + vol_shock_min - skew_max * MONEYNESS_CAP > 0.25")
        for name in ("crash_vol_shock", "rally_vol_shock", "vol_spike", "vol_crush"):
            if not (self.vol_shock_min <= getattr(self, name) <= self.vol_shock_max):
                raise ValueError(f"{name} must be within [vol_shock_min, vol_shock_max]")


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    """S scenarios over U assets.

    assets:    (U,) asset symbols (columns of ``z``).
    names:     (S,) unique scenario names (``fhs 2023-05-01``, ``crash``, ...).
    kinds:     (S,) kind labels (see the module docstring).
    z:         (S, U) standardised shocks (units of one-day sigma).
    vol_shock:  (S, U) relative ATM implied-vol shock per underlying (0.5 = vols x 1.5).
    skew_shock: (S, U) skew shock kappa: slope of the relative vol shock in clipped
                log-moneyness (:func:`calcm.risk.instruments.value_instruments`).
    """

    assets: tuple[str, ...]
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    z: np.ndarray
    vol_shock: np.ndarray
    skew_shock: np.ndarray

    def __post_init__(self):
        S, U = len(self.names), len(self.assets)
        if any(np.shape(a) != (S, U) for a in (self.z, self.vol_shock, self.skew_shock)):
            raise ValueError("z, vol_shock and skew_shock must be (S, U)")
        if len(self.kinds) != S or len(set(self.names)) != S:
            raise ValueError("names must be unique and kinds one per scenario")
        if not all(np.all(np.isfinite(a)) for a in (self.z, self.vol_shock, self.skew_shock)):
            raise ValueError("scenario values must be finite")
        if np.any(self.vol_shock <= -1):
            raise ValueError("vol_shock must be > -1")

    @property
    def n_scenarios(self) -> int:
        return len(self.names)

    def returns(self, mpor_vol: np.ndarray) -> np.ndarray:
        """(S, U) simple returns over the MPOR: ``max(z * sqrt(V), MIN_RETURN)``.

        ``mpor_vol`` (U,) = ``sqrt(V)``, the h-day volatility (return units) in the order of
        ``assets``: ``V = max(V_h, h var_floor)`` (:func:`calcm.risk.model.horizon_variance`).
        """
        mpor_vol = np.asarray(mpor_vol, float)
        if mpor_vol.shape != (len(self.assets),) or np.any(~np.isfinite(mpor_vol)) or np.any(mpor_vol < 0):
            raise ValueError("mpor_vol must be (U,) finite and >= 0")
        return np.maximum(self.z * mpor_vol, MIN_RETURN)

    def canonical_bytes(self) -> bytes:
        head = json.dumps({"assets": list(self.assets), "names": list(self.names),
                           "kinds": list(self.kinds), "shape": list(self.z.shape)},
                          sort_keys=True, separators=(",", ":")).encode()
        return (HASH_DOMAIN + head + b"\n" + np.ascontiguousarray(self.z, "<f8").tobytes()
                + np.ascontiguousarray(self.vol_shock, "<f8").tobytes()
                + np.ascontiguousarray(self.skew_shock, "<f8").tobytes())

    @cached_property
    def hash(self) -> str:
        """sha256 hex of :meth:`canonical_bytes`."""
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def to_json(self) -> dict:
        return {"assets": list(self.assets), "names": list(self.names), "kinds": list(self.kinds),
                "z": self.z.tolist(), "vol_shock": self.vol_shock.tolist(),
                "skew_shock": self.skew_shock.tolist(), "hash": self.hash}

    @classmethod
    def from_json(cls, d: dict) -> "ScenarioSet":
        shape = (len(d["names"]), len(d["assets"]))
        if "skew_shock" not in d:
            raise ValueError("scenario set has no 'skew_shock' (written before scenarios v3): regenerate it")
        return cls(tuple(d["assets"]), tuple(d["names"]), tuple(d["kinds"]),
                   *(np.asarray(d[k], float).reshape(shape) for k in ("z", "vol_shock", "skew_shock")))


def scenario_hash(s: ScenarioSet) -> str:
    return s.hash


def student_t_quantile(q: float, nu: float) -> float:
    """The q-quantile of a *standardised* (unit-variance) Student-t(nu)."""
    return float(stats.t.ppf(q, nu) * np.sqrt((nu - 2) / nu))


def fhs_days(T: int, n: int, selection: str) -> np.ndarray:
    """Indices of the historical days used by FHS (deterministic)."""
    n = min(n, T)
    if n == 0:
        return np.zeros(0, int)
    if selection == "last":
        return np.arange(T - n, T)
    return np.unique(np.linspace(0, T - 1, n).round().astype(int))


def filtered_historical(z: np.ndarray, path: CorrelationPath, target: np.ndarray,
                        days: np.ndarray) -> np.ndarray:
    """(len(days), U): ``L_target L_{t-1}^{-1} z_t`` for each selected day t."""
    lt = cholesky(target)
    out = np.empty((len(days), z.shape[1]))
    for k, t in enumerate(days):
        white = np.linalg.solve(cholesky(path.predicted[t]), z[t])
        out[k] = lt @ white
    return out


def match_scale(recorrelated: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Rescale each column of the re-correlated FHS shocks to the RMS of the raw residuals.

    Whitening with day t-1's EWMA correlation and re-colouring with today's does not
    preserve an asset's variance: an idiosyncratic shock on a day of high predicted
    correlation is divided by a small Cholesky pivot and multiplied by a larger one.
    On the real 2017-2023 history, DOGE's re-correlated shocks had RMS 2.35 instead of
    1, and the 99% VaR of long SOL was never exceeded in a year (Kupiec p = 0.007).
    Column scaling restores each marginal scale and leaves the correlations unchanged.
    (Added by the liquidation stage; see docs/LIQUIDATION.md, backtests.)
    """
    if len(raw) == 0:
        return recorrelated
    want = np.sqrt(np.mean(np.square(raw), axis=0))
    have = np.sqrt(np.mean(np.square(recorrelated), axis=0))
    return recorrelated * np.where(have > 0, want / np.where(have > 0, have, 1.0), 1.0)


def stress_days(z: np.ndarray, days: np.ndarray, n: int) -> np.ndarray:
    """Positions in ``days`` (ascending) of the ``stress`` scenarios: deterministic.

    Over the FHS window ``days`` (indices into ``z`` (T, U)), rank the days by their
    equal-weighted mean residual ``mean_u z[t, u]`` and take the ``ceil(n/2)`` lowest
    and the ``floor(n/2)`` highest (ties: the earlier day), ``min(n, len(days))`` in
    all, distinct. Why these days: correlation-to-one matters most where the whole
    market moves together, and taking both ends covers long and short books alike.
    """
    n = min(int(n), len(days))
    if n == 0:
        return np.zeros(0, int)
    m = np.asarray(z, float)[days].mean(axis=1)
    low = np.argsort(m, kind="stable")[: (n + 1) // 2]
    taken = set(low.tolist())
    high = [i for i in np.argsort(-m, kind="stable").tolist() if i not in taken][: n // 2]
    return np.sort(np.concatenate([low, np.asarray(high, int)]))


def build_scenarios(assets: tuple[str, ...], dates: np.ndarray, z: np.ndarray, path: CorrelationPath,
                    target: np.ndarray, nu: np.ndarray, params: ScenarioParams | None = None) -> ScenarioSet:
    """Build the epoch's scenario set (order: fhs, stress, worst, best, crash, rally, breakdown, vol).

    assets (U,); dates (T,) of the residuals; z (T, U) standardised residuals;
    path: their EWMA correlation path (``fhs`` re-correlate to ``path.today``);
    target (U, U): today's stressed correlation (the ``stress`` rows);
    nu (U,): each asset's Student-t degrees of freedom.
    """
    p = params or ScenarioParams()
    z = np.asarray(z, float)
    T, U = z.shape
    names, kinds, rows, vs = [], [], [], []

    def add(name, kind, vec, v):
        """v: a scalar (broadcast to every underlying) or (U,)."""
        names.append(name)
        kinds.append(kind)
        rows.append(np.asarray(vec, float))
        vs.append(np.broadcast_to(np.asarray(v, float), (U,)))

    def historical(kind, ts, rows_):
        for t, zs in zip(ts, rows_):
            add(f"{kind} {dates[t]}", kind, zs,
                np.clip(p.vol_of_vol * (np.abs(zs) - 1), p.vol_shock_min, p.vol_shock_max))

    days = fhs_days(T, p.n_fhs, p.fhs_selection)
    historical("fhs", days, match_scale(filtered_historical(z, path, path.today, days), z[days]))
    pick = stress_days(z, days, p.n_stress)
    if len(pick):   # scale matched over the whole window, then the chosen days
        stressed_rows = match_scale(filtered_historical(z, path, target, days), z[days])
        historical(STRESS_KIND, days[pick], stressed_rows[pick])
    market = z.mean(axis=1)
    order = np.argsort(market, kind="stable")
    for t in order[: min(p.n_extreme, T)]:
        add(f"worst {dates[t]}", "worst", z[t], p.crash_vol_shock)
    for t in order[::-1][: min(p.n_extreme, T)]:
        if f"worst {dates[t]}" not in names:
            add(f"best {dates[t]}", "best", z[t], p.rally_vol_shock)
    k = np.array([student_t_quantile(p.stress_quantile, n) for n in nu])
    add("crash", "crash", -k, p.crash_vol_shock)
    add("rally", "rally", k, p.rally_vol_shock)
    kb = np.array([student_t_quantile(p.breakdown_quantile, n) for n in nu])
    for a in range(U):
        for b in range(U):
            if a != b:
                vec = np.zeros(U)
                vec[a], vec[b] = kb[a], -kb[b]
                add(f"breakdown {assets[a]}+/{assets[b]}-", "breakdown", vec, p.crash_vol_shock)
    add("vol_spike", "vol", np.zeros(U), p.vol_spike)
    add("vol_crush", "vol", np.zeros(U), p.vol_crush)
    zz = np.array(rows).reshape(len(rows), U)
    return ScenarioSet(tuple(assets), tuple(names), tuple(kinds), zz, np.array(vs).reshape(len(rows), U),
                       skew_shocks(zz, p))


def skew_shocks(z: np.ndarray, p: ScenarioParams) -> np.ndarray:
    """(S, U) skew shocks ``kappa = clip(skew_beta * z, -skew_max, skew_max)`` of shocks z (S, U)."""
    return np.clip(p.skew_beta * np.asarray(z, float), -p.skew_max, p.skew_max)


def params_json(p: ScenarioParams) -> dict:
    return asdict(p)


def _kept(losses, kinds) -> np.ndarray:
    """Indices of the scenarios that are not ``stress`` (checks one kind per loss column)."""
    if np.shape(losses)[-1] != len(kinds):
        raise ValueError(f"losses have {np.shape(losses)[-1]} scenarios, kinds {len(kinds)}")
    return np.flatnonzero([kd != STRESS_KIND for kd in kinds])


def es_without_stress(losses: np.ndarray, kinds, k: int) -> np.ndarray:
    """Float ES over the scenarios that are not ``stress``, at the FULL set's ``k``.

    losses (S,) or (A, S) USD (positive = loss); kinds (S,) the set's kind labels.
    ``max(0, mean of the k largest kept losses)``: the superset rule's comparison
    point (module docstring); the model's ES is always >= this.
    """
    idx = _kept(losses, kinds)
    kept = np.asarray(losses, float)[..., idx]
    if not (1 <= k <= kept.shape[-1]):
        raise ValueError(f"k = {k} needs 1 <= k <= {kept.shape[-1]} non-stress scenarios")
    return np.maximum(-np.sort(-kept, axis=-1)[..., :k].mean(axis=-1), 0.0)


def es_fx_without_stress(losses, kinds, k: int) -> int:
    """Fixed-point twin: ``max(ceil(sum of the k largest kept losses / k), 0)`` (money units).

    ``losses`` the exact integer scenario losses of one account
    (:attr:`calcm.risk.fixed_margin.MarginResultFx.losses`).
    """
    idx = _kept(losses, kinds)
    kept = sorted((int(losses[s]) for s in idx), reverse=True)
    if not (1 <= k <= len(kept)):
        raise ValueError(f"k = {k} needs 1 <= k <= {len(kept)} non-stress scenarios")
    return max(-(-sum(kept[:k]) // k), 0)
