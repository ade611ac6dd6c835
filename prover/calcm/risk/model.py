"""Assembly of the per-epoch margin model: market data + book + parameters -> MarginModel.

Steps (every formula in docs/MODEL.md):

1. returns: simple daily returns per underlying, from its listing to ``asof``;
2. volatility: one GARCH / GJR-GARCH-t fit per underlying (:mod:`.volatility`);
   ``sigma_u`` = the one-step forecast volatility for the day after ``asof``;
3. correlation: EWMA of the standardised residuals over the days all underlyings
   trade (:mod:`.correlation`), and its blend toward one (``stress_weight``);
4. scenarios: FHS (today's correlation) + stressed FHS (the blend) + stress z-vectors
   (:mod:`.scenarios`), returns ``z * sqrt(V)``, ``V`` the APC :func:`horizon_variance`;
5. instruments: P&L matrix, marks, exposures (:mod:`.instruments`), and the perp
   basis + funding charge ``perp_shock_bps[u] = basis + h * funding`` (:mod:`.perp_shocks`);
6. collateral prices (stablecoins 1 USD, others the ``asof`` close), haircuts
   (:mod:`.haircuts`: the book's table floored by each asset's own ES), ADV (trailing mean
   USD volume, or the fallback table), liquidity weights.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError
from ..market import MarketData
from .book import Book, default_liquidity_weight
from .correlation import CorrelationPath, EwmaCorrelation, stressed
from .haircuts import CollateralHaircuts, collateral_haircuts
from .instruments import InstrumentTable, Valuation, value_instruments
from .margin import MarginModel, MarginParams
from .perp_shocks import PerpShocks, perp_charge_matrix
from .scenarios import ScenarioParams, ScenarioSet, build_scenarios
from .volatility import DEFAULT_PERSISTENCE_CAP, VolatilityFit, volatility_model

#: ADV used when the market data has no volume for an asset (USD per day). Deliberately
#: conservative (below the real 2023 spot volumes: BTC ~1.6e9, ETH ~0.9e9 on one venue),
#: so a missing volume file never *lowers* the concentration add-on.
FALLBACK_ADV_USD = {"BTC": 1.0e9, "ETH": 5.0e8}
FALLBACK_ADV_SMALL_CAP = 5.0e7


def fallback_adv(asset: str) -> float:
    return FALLBACK_ADV_USD.get(asset, FALLBACK_ADV_SMALL_CAP)


@dataclass(frozen=True)
class ModelParams:
    """Every parameter of the risk model (data, hashed into the exported model).

    es_level:      ES confidence level (0.99; 0.975 available).
    mpor_days:     margin period of risk h in days (2).
    vol_model:     "gjr" (GJR-GARCH(1,1,1)-t, default) or "garch" (GARCH(1,1)-t).
    persistence_cap: fits with alpha + gamma/2 + beta >= cap publish arch's MLE at the cap
                   (0.999; None: arch's fit as is; :mod:`.persistence`).
    ewma_lambda:   EWMA decay of the residual correlation (0.94, RiskMetrics daily).
    ewma_init:     observations averaged for the EWMA start (30).
    stress_weight: blend toward correlation-to-one, ``(1-w) R + w 11^T`` (0.5), applied
                   to the ``stress`` scenarios only (superset rule, :mod:`.scenarios`).
    scenarios:     how the scenario set is built (:class:`ScenarioParams`).
    im_buffer:     IM = MM * (1 + im_buffer) (0.25).
    warn_buffer:   WARNING while equity < IM * (1 + warn_buffer) (0.20).
    adv_window:    days in the trailing mean of USD volume (30).
    min_history:   minimum daily returns per underlying for a GARCH fit (250).
    apc:           anti-procyclicality: "floor" (default) floors the h-day variance at
                   ``h * var_floor_u`` (EMIR RTS 153/2013 Art. 28(1)(c)); "stress": weight
                   ``apc_stress_weight`` on the stressed variance (Art. 28(1)(b), :func:`horizon_variance`);
                   "none": neither.
    apc_floor_weight: ``var_floor_u = weight * mean(r^2)`` over the asset's whole history (1.0).
    apc_stress_weight: ``w`` of ``V = (1 - w) V_h + w h var_stress`` when apc == "stress": a whole
                   number of bps in [0.25, 1) (0.25). In :meth:`to_json` only when apc == "stress"
                   or not the default, so the default parameters' hash is that of model v4.
    risk_haircuts: raise each non-stable collateral haircut to that asset's own ES over
                   the MPOR, the table as the floor (:mod:`.haircuts`; on by default).
    perp_shocks:   per-asset perp basis and funding shocks, integer bps (:class:`PerpShocks`);
                   ``perp_shock_bps[u] = basis + mpor_days * funding`` must be below BPS (100%).
    """

    es_level: float = 0.99
    mpor_days: int = 2
    vol_model: str = "gjr"
    persistence_cap: float | None = DEFAULT_PERSISTENCE_CAP
    ewma_lambda: float = 0.94
    ewma_init: int = 30
    stress_weight: float = 0.5
    scenarios: ScenarioParams = field(default_factory=ScenarioParams)
    im_buffer: float = 0.25
    warn_buffer: float = 0.20
    adv_window: int = 30
    min_history: int = 250
    apc: str = "floor"
    apc_floor_weight: float = 1.0
    apc_stress_weight: float = 0.25
    risk_haircuts: bool = True
    perp_shocks: PerpShocks = field(default_factory=PerpShocks)

    def __post_init__(self):
        if self.mpor_days < 1:
            raise ValueError("mpor_days must be >= 1")
        if self.vol_model not in ("gjr", "garch"):
            raise ValueError(f"vol_model must be 'gjr' or 'garch', got {self.vol_model!r}")
        volatility_model(self.vol_model, self.persistence_cap)    # persistence_cap in (0, 1) or None
        if self.apc not in ("floor", "stress", "none") or not (0 <= self.apc_floor_weight < 100):
            raise ValueError(f"apc must be 'floor', 'stress' or 'none' and 0 <= apc_floor_weight < 100, got "
                             f"{self.apc!r}, {self.apc_floor_weight}")
        w_bps = self.apc_stress_weight * 10_000
        if self.apc == "stress" and not (0.25 <= self.apc_stress_weight < 1 and abs(w_bps - round(w_bps)) < 1e-6):
            raise ValueError(f"apc_stress_weight must be a whole number of bps in [0.25, 1) when apc == 'stress', "
                             f"got {self.apc_stress_weight}")
        if self.adv_window < 1 or self.min_history < 30:
            raise ValueError("adv_window must be >= 1 and min_history >= 30")
        MarginParams(self.es_level, self.im_buffer, self.warn_buffer)  # validates those three
        EwmaCorrelation(self.ewma_lambda, self.ewma_init)
        if not (0 <= self.stress_weight <= 1):
            raise ValueError("stress_weight must be in [0, 1]")
        if not isinstance(self.perp_shocks, PerpShocks):
            raise ValueError(f"perp_shocks must be a PerpShocks, got {type(self.perp_shocks).__name__}")
        self.perp_shocks.check(self.mpor_days)

    @property
    def margin_params(self) -> MarginParams:
        return MarginParams(self.es_level, self.im_buffer, self.warn_buffer)

    def to_json(self) -> dict:
        d = {**asdict(self), "perp_shocks": self.perp_shocks.to_json()}
        if self.apc != "stress" and self.apc_stress_weight == _DEFAULT_STRESS_WEIGHT:
            del d["apc_stress_weight"]          # unused: the default hash stays that of model v4
        return d

    @classmethod
    def from_json(cls, d: dict) -> "ModelParams":
        """Inverse of :meth:`to_json`; a missing key (e.g. ``perp_shocks`` in older JSON) takes its default."""
        kw = dict(d)
        extra = set(kw) - set(cls.__dataclass_fields__)
        if extra:
            raise ValueError(f"model params: unknown keys {sorted(extra)}")
        if "scenarios" in kw:
            kw["scenarios"] = ScenarioParams(**kw["scenarios"])
        if "perp_shocks" in kw:
            kw["perp_shocks"] = PerpShocks.from_json(kw["perp_shocks"])
        return cls(**kw)

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of the parameters."""
        blob = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(b"calcm-model-params-v1\n" + blob).hexdigest()


_DEFAULT_STRESS_WEIGHT = ModelParams.apc_stress_weight
#: Days per window of the stressed variance (one trading year; EMIR RTS 153/2013 Art. 28(1)(b)).
APC_STRESS_WINDOW = 250


@dataclass(frozen=True, eq=False)
class RiskModel:
    """The typed intermediates of one build, and the :class:`MarginModel` they produce.

    underlyings (U,) in book order; price (U,) USD at asof; sigma (U,) one-day forecast vol;
    mpor_vol (U,) sqrt of the h-step variance; returns (S, U) scenario returns;
    unit_notional (n,) USD underlying price per unit of each instrument.
    """

    asof: np.datetime64
    params: ModelParams
    underlyings: tuple[str, ...]
    price: np.ndarray
    fits: dict[str, VolatilityFit]
    sigma: np.ndarray
    mpor_vol: np.ndarray
    correlation: CorrelationPath          # over scenarios.assets (sorted), not underlyings
    stressed_correlation: np.ndarray      # idem
    scenarios: ScenarioSet
    returns: np.ndarray                   # (S, U) in underlyings order
    valuation: Valuation
    adv: np.ndarray
    adv_source: tuple[str, ...]
    unit_notional: np.ndarray
    margin_model: MarginModel
    var_floor: np.ndarray | None = None   # (U,) APC floor on the daily variance (0: none), :func:`apc_var_floor`
    var_stress: np.ndarray | None = None  # (U,) stressed daily variance (0 unless "stress"), :func:`apc_var_stress`
    haircuts: CollateralHaircuts | None = None   # the publication's haircuts (margin_model.haircut in bps)
    perp_shock_bps: np.ndarray | None = None     # (U,) int: published perp basis + funding shock, bps

    @property
    def scenario_columns(self) -> list[int]:
        """Column of each underlying (book order) in ``scenarios`` (sorted asset order)."""
        return [self.scenarios.assets.index(a) for a in self.underlyings]

    @property
    def vol_shock(self) -> np.ndarray:
        """(S, U) scenario ATM vol shocks in underlyings order (``scenarios`` is in sorted order)."""
        return self.scenarios.vol_shock[:, self.scenario_columns]

    @property
    def skew_shock(self) -> np.ndarray:
        """(S, U) scenario skew shocks in underlyings order."""
        return self.scenarios.skew_shock[:, self.scenario_columns]


def _check_assets(market: MarketData, book: Book) -> None:
    for ins in book.instruments:
        if ins.underlying not in market.assets:
            raise InputError(book.source, f"instrument '{ins.id}'", "underlying",
                             f"{ins.underlying!r} is not an asset of the market data {market.source}")
    for c in book.collateral:
        if not c.is_stable and c.asset not in market.assets:
            raise InputError(book.source, f"collateral '{c.asset}'", "asset",
                             f"no price: not a stablecoin and not in the market data {market.source}")


def _fit_all(market: MarketData, underlyings, params: ModelParams, fitter=None):
    """Per-underlying fits on each asset's own history, residuals aligned on the return dates.

    ``fitter(asset, returns) -> VolatilityFit`` replaces the GARCH estimation (the
    cascade simulator refits monthly and only runs the recursion in between). A fit that fails
    (``ValueError``) is the one-line InputError ``source: asof D: asset: GARCH fit failed: ...``.
    """
    rets = market.simple_returns()
    z = np.full((len(rets), len(underlyings)), np.nan)
    fits = {}
    vm = volatility_model(params.vol_model, params.persistence_cap)   # validates the cap too
    for k, a in enumerate(underlyings):
        col = rets[:, market.index(a)]
        ok = np.isfinite(col)
        if not ok[-1]:
            raise InputError(market.source, f"asof {market.dates[-1]}", a, "no close on the model date")
        if ok.sum() < params.min_history:
            raise InputError(market.source, f"asof {market.dates[-1]}", a,
                             f"history too short: {int(ok.sum())} returns, need {params.min_history}")
        try:
            fit = fitter(a, col[ok]) if fitter is not None else vm.fit(col[ok])
        except InputError:
            raise
        except ValueError as exc:   # e.g. arch returned parameters GarchParams rejects: reported, never replaced
            raise InputError(market.source, f"asof {market.dates[-1]}", a, f"GARCH fit failed: {exc}") from None
        fits[a] = fit
        z[ok, k] = fit.residuals
    return fits, z


def apc_var_floor(market: MarketData, underlyings, params: ModelParams) -> np.ndarray:
    """(U,) the APC floor on each underlying's daily variance (return**2; docs/MODEL.md §4).

    ``var_floor_u = apc_floor_weight * mean(r_t**2)`` over ALL of asset u's daily simple
    returns in ``market`` (from its first close to the model date: the longest lookback,
    EMIR RTS 153/2013 Art. 28(1)(c)); zeros unless ``params.apc == "floor"``. The h-day
    variance is then ``max(V_h, h var_floor_u)``.
    """
    if params.apc != "floor":
        return np.zeros(len(underlyings))
    rets = market.simple_returns()
    out = []
    for a in underlyings:
        col = rets[:, market.index(a)]
        out.append(params.apc_floor_weight * float(np.mean(col[np.isfinite(col)] ** 2)))
    return np.array(out)


def stressed_variance(returns: np.ndarray, window: int = APC_STRESS_WINDOW) -> float:
    """Max over all ``window``-day windows of ``mean(r_t**2)`` of one asset's daily simple returns
    (NaN dropped, so windows run over its consecutive observations; fewer than ``window``: the mean
    of all): the daily variance of its most volatile year on record."""
    r2 = np.asarray(returns, float)
    r2 = r2[np.isfinite(r2)] ** 2
    if len(r2) <= window:
        return float(np.mean(r2))
    c = np.concatenate(([0.0], np.cumsum(r2)))
    return float(np.max(c[window:] - c[:-window]) / window)


def apc_var_stress(market: MarketData, underlyings, params: ModelParams) -> np.ndarray:
    """(U,) :func:`stressed_variance` of each underlying over ALL its returns in ``market`` (to the
    model date) when ``params.apc == "stress"``, else zeros."""
    if params.apc != "stress":
        return np.zeros(len(underlyings))
    rets = market.simple_returns()
    return np.array([stressed_variance(rets[:, market.index(a)]) for a in underlyings])


def horizon_variance(v_h: np.ndarray, params: ModelParams, var_floor: np.ndarray,
                     var_stress: np.ndarray) -> np.ndarray:
    """(U,) the h-day variance with the APC tool of ``params`` (docs/MODEL.md §4), ``h = mpor_days``::

        "floor":  max(V_h, h var_floor)            (var_floor 0 under "none")
        "stress": (1 - w) V_h + w h var_stress     (w = apc_stress_weight; no floor)

    ``v_h`` (U,) the GARCH h-day variance. Under "floor"/"none" this is ``max(V_h, h var_floor)``
    bit for bit."""
    h = params.mpor_days
    if params.apc == "stress":
        w = params.apc_stress_weight
        return (1 - w) * np.asarray(v_h, float) + w * h * np.asarray(var_stress, float)
    return np.maximum(v_h, h * np.asarray(var_floor, float))


def build_risk_model(market: MarketData, book: Book, params: ModelParams | None = None,
                     asof=None, fitter=None) -> RiskModel:
    """Build every intermediate and the float :class:`MarginModel` (see the module docstring).

    ``fitter``: optional ``(asset, returns) -> VolatilityFit`` used instead of a fresh
    GARCH fit per underlying (see :mod:`calcm.liquidation.causal`).
    """
    p = params or ModelParams()
    if asof is not None:
        d = np.datetime64(asof, "D")
        if d not in market.dates:  # never clamp: a date the data lacks is an error
            where = "after the last" if d > market.dates[-1] else "before the first" \
                if d < market.dates[0] else "not a"
            raise InputError(market.source, f"asof {d}", "date",
                             f"{where} date of the market data ({market.dates[0]} .. {market.dates[-1]})")
        market = market.upto(asof)
    _check_assets(market, book)
    und = book.underlyings
    fits, z = _fit_all(market, und, p, fitter)
    common = np.all(np.isfinite(z), axis=1)
    if common.sum() < p.ewma_init + 1:
        raise InputError(market.source, "-", ",".join(und),
                         f"only {int(common.sum())} days where all underlyings trade; need {p.ewma_init + 1}")
    # The scenario set works in sorted asset order: Cholesky re-correlation is not
    # permutation-equivariant, and the set (and its hash) must not depend on the
    # order in which the book happens to list its instruments.
    order = np.argsort(und, kind="stable")
    s_assets = tuple(und[i] for i in order)
    zc, dates = z[common][:, order], market.dates[1:][common]
    path = EwmaCorrelation(p.ewma_lambda, p.ewma_init).filter(zc)
    target = stressed(path.today, p.stress_weight)
    nu = np.array([fits[a].params.nu for a in s_assets])
    scen = build_scenarios(s_assets, dates, zc, path, target, nu, p.scenarios)

    price = np.array([market.last_close()[market.index(a)] for a in und])
    sigma = np.array([np.sqrt(fits[a].sigma2_next) for a in und])
    vfloor, vstress = apc_var_floor(market, und, p), apc_var_stress(market, und, p)
    mpor_vol = np.sqrt(horizon_variance([fits[a].mpor_variance(p.mpor_days) for a in und], p, vfloor, vstress))
    back = np.argsort(order)                                        # scenario -> book order
    returns = scen.returns(mpor_vol[order])[:, back]
    table = InstrumentTable.from_instruments(book.instruments, und)
    val = value_instruments(table, price, returns, scen.vol_shock[:, back], scen.skew_shock[:, back], p.mpor_days)

    adv_mkt = market.trailing_adv(p.adv_window)
    adv, src = [], []
    for a in und:
        v = np.nan if adv_mkt is None else adv_mkt[market.index(a)]
        ok = np.isfinite(v) and v >= 1
        adv.append(float(v) if ok else fallback_adv(a))
        src.append("volume" if ok else "fallback")
    if "fallback" in src:
        import warnings

        from ..errors import DataFallbackWarning
        fell = [a for a, s in zip(und, src) if s == "fallback"]
        warnings.warn(f"{market.source}: no volumes for {', '.join(fell)}: ADV falls back to the "
                      "static table (docs/MODEL.md); pass --volumes for the liquidity add-on",
                      DataFallbackWarning, stacklevel=2)
    cprice = np.array([1.0 if c.is_stable else float(market.last_close()[market.index(c.asset)])
                       for c in book.collateral])
    for c, px in zip(book.collateral, cprice):
        if not np.isfinite(px):
            raise InputError(market.source, f"asof {market.dates[-1]}", c.asset, "no close for collateral asset")
    hc = collateral_haircuts(book, und, returns, p.margin_params.k_tail(len(returns)), p.risk_haircuts)
    shock_bps = np.array(p.perp_shocks.rates_bps(und, p.mpor_days), dtype=np.int64)
    mm = MarginModel(instrument_ids=book.instrument_ids, underlyings=und,
                     collateral_assets=book.collateral_assets, pnl=val.pnl, mark=val.mark,
                     exposure=val.exposure, collateral_price=cprice,
                     haircut=hc.fraction, adv=np.array(adv),
                     liquidity_weight=np.array([default_liquidity_weight(a) for a in und]),
                     params=p.margin_params,
                     perp_charge=perp_charge_matrix(table.kind, table.underlying_index, price, shock_bps))
    return RiskModel(market.dates[-1], p, und, price, fits, sigma, mpor_vol, path, target, scen,
                     returns, val, np.array(adv), tuple(src), price[table.underlying_index], mm,
                     var_floor=vfloor, var_stress=vstress, haircuts=hc, perp_shock_bps=shock_bps)


def build_margin_model(market: MarketData, book: Book, params: ModelParams | None = None,
                       asof=None) -> MarginModel:
    """The float margin model of ``book`` on ``market`` at ``asof`` (default: the last date)."""
    return build_risk_model(market, book, params, asof).margin_model


#: Named published parameter sets (``calcm margin --profile``, ``calcm demo --profile``).
#: ``published`` is the default model; ``fast`` publishes 16 + 4 stressed FHS days instead of
#: 480 + 20 (S = 54 on the bundled data) as a parameter set of its own, for a quick demo:
#: a chain deployed with it equals ``calcm margin --profile fast``, never a refit of ``published``.
def parameter_profile(name: str) -> ModelParams:
    """The :class:`ModelParams` of a named profile (``published`` or ``fast``)."""
    from dataclasses import replace
    base = ModelParams()
    if name == "published":
        return base
    if name == "fast":
        return replace(base, scenarios=replace(base.scenarios, n_fhs=16, n_stress=4))
    raise ValueError(f"unknown parameter profile {name!r} (published, fast)")


PROFILES = ("published", "fast")
