"""Assembly of the per-epoch margin model: market data + book + parameters -> MarginModel.

Steps (every formula in docs/MODEL.md):

1. returns: simple daily returns per underlying, from its listing to ``asof``;
2. volatility: one GARCH / GJR-GARCH-t fit per underlying (:mod:`.volatility`);
   ``sigma_u`` = the one-step forecast volatility for the day after ``asof``;
3. correlation: EWMA of the standardised residuals over the days all underlyings
   trade (:mod:`.correlation`), blended toward one (``stress_weight``);
4. scenarios: FHS + stress z-vectors (:mod:`.scenarios`), returns ``z * sigma * sqrt(h)``;
5. instruments: P&L matrix, marks, exposures (:mod:`.instruments`);
6. collateral prices (stablecoins 1 USD, others the ``asof`` close), haircuts from
   the book, ADV (trailing mean USD volume, or the fallback table), liquidity weights.
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
from .instruments import InstrumentTable, Valuation, value_instruments
from .margin import MarginModel, MarginParams
from .scenarios import ScenarioParams, ScenarioSet, build_scenarios
from .volatility import VolatilityFit, volatility_model

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
    ewma_lambda:   EWMA decay of the residual correlation (0.94, RiskMetrics daily).
    ewma_init:     observations averaged for the EWMA start (30).
    stress_weight: blend toward correlation-to-one, ``(1-w) R + w 11^T`` (0.5).
    scenarios:     how the scenario set is built (:class:`ScenarioParams`).
    im_buffer:     IM = MM * (1 + im_buffer) (0.25).
    warn_buffer:   WARNING while equity < IM * (1 + warn_buffer) (0.20).
    adv_window:    days in the trailing mean of USD volume (30).
    min_history:   minimum daily returns per underlying for a GARCH fit (250).
    risk_haircuts: floor each non-stable collateral haircut at that asset's own ES over
                   the MPOR (:func:`risk_based_haircuts`; off by default: the seed table).
    """

    es_level: float = 0.99
    mpor_days: int = 2
    vol_model: str = "gjr"
    ewma_lambda: float = 0.94
    ewma_init: int = 30
    stress_weight: float = 0.5
    scenarios: ScenarioParams = field(default_factory=ScenarioParams)
    im_buffer: float = 0.25
    warn_buffer: float = 0.20
    adv_window: int = 30
    min_history: int = 250
    risk_haircuts: bool = False

    def __post_init__(self):
        if self.mpor_days < 1:
            raise ValueError("mpor_days must be >= 1")
        if self.vol_model not in ("gjr", "garch"):
            raise ValueError(f"vol_model must be 'gjr' or 'garch', got {self.vol_model!r}")
        if self.adv_window < 1 or self.min_history < 30:
            raise ValueError("adv_window must be >= 1 and min_history >= 30")
        MarginParams(self.es_level, self.im_buffer, self.warn_buffer)  # validates those three
        EwmaCorrelation(self.ewma_lambda, self.ewma_init)
        if not (0 <= self.stress_weight <= 1):
            raise ValueError("stress_weight must be in [0, 1]")

    @property
    def margin_params(self) -> MarginParams:
        return MarginParams(self.es_level, self.im_buffer, self.warn_buffer)

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of the parameters."""
        blob = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(b"calcm-model-params-v1\n" + blob).hexdigest()


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
    cascade simulator refits monthly and only runs the recursion in between).
    """
    rets = market.simple_returns()
    z = np.full((len(rets), len(underlyings)), np.nan)
    fits = {}
    vm = volatility_model(params.vol_model)
    for k, a in enumerate(underlyings):
        col = rets[:, market.index(a)]
        ok = np.isfinite(col)
        if not ok[-1]:
            raise InputError(market.source, f"asof {market.dates[-1]}", a, "no close on the model date")
        if ok.sum() < params.min_history:
            raise InputError(market.source, f"asof {market.dates[-1]}", a,
                             f"history too short: {int(ok.sum())} returns, need {params.min_history}")
        fit = fitter(a, col[ok]) if fitter is not None else vm.fit(col[ok])
        fits[a] = fit
        z[ok, k] = fit.residuals
    return fits, z


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
    mpor_vol = np.array([np.sqrt(fits[a].mpor_variance(p.mpor_days)) for a in und])
    returns = scen.returns(sigma[order], p.mpor_days)[:, np.argsort(order)]   # back to book order
    table = InstrumentTable.from_instruments(book.instruments, und)
    val = value_instruments(table, price, returns, scen.vol_shock, p.mpor_days)

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
    haircut = np.array([c.haircut for c in book.collateral])
    if p.risk_haircuts:
        haircut = risk_based_haircuts(book, und, returns, p.margin_params.k_tail(len(returns)), haircut)
    mm = MarginModel(instrument_ids=book.instrument_ids, underlyings=und,
                     collateral_assets=book.collateral_assets, pnl=val.pnl, mark=val.mark,
                     exposure=val.exposure, collateral_price=cprice,
                     haircut=haircut, adv=np.array(adv),
                     liquidity_weight=np.array([default_liquidity_weight(a) for a in und]),
                     params=p.margin_params)
    return RiskModel(market.dates[-1], p, und, price, fits, sigma, mpor_vol, path, target, scen,
                     returns, val, np.array(adv), tuple(src), price[table.underlying_index], mm)


#: Cap on a risk-based haircut (a haircut stays below 1; its fixed-point form below 10^4 bps).
MAX_RISK_HAIRCUT = 0.95


def risk_based_haircuts(book: Book, underlyings, returns: np.ndarray, k: int,
                        table: np.ndarray) -> np.ndarray:
    """Haircuts floored at each collateral asset's standalone ES over the MPOR.

    ``h_j = min(max(table_j, ES_j), MAX_RISK_HAIRCUT)`` where ``ES_j`` is the mean of the
    ``k`` largest scenario losses of one USD of asset ``j`` (``-returns[:, u_j]``, the
    MPOR scenario returns (S, U)). Stablecoins and assets that are not underlyings keep
    the table haircut. Why: the margin's ES covers positions only; collateral is
    credited at ``1 - haircut``, so a 5% BTC haircut leaves a long book funded with
    BTC exposed to the whole crash (BTC fell 44% intraday on 2020-03-12). Standalone
    (no offset against positions) is conservative, as CCP collateral haircuts are.
    (Added by the liquidation stage; see docs/LIQUIDATION.md.)
    """
    out = np.array(table, float).copy()
    for j, c in enumerate(book.collateral):
        if c.is_stable or c.asset not in underlyings:
            continue
        loss = -np.asarray(returns)[:, list(underlyings).index(c.asset)]
        es = float(np.sort(loss)[::-1][:k].mean())
        out[j] = min(max(out[j], es), MAX_RISK_HAIRCUT)
    return out


def build_margin_model(market: MarketData, book: Book, params: ModelParams | None = None,
                       asof=None) -> MarginModel:
    """The float margin model of ``book`` on ``market`` at ``asof`` (default: the last date)."""
    return build_risk_model(market, book, params, asof).margin_model


#: Named published parameter sets (``calcm margin --profile``, ``calcm demo --profile``).
#: ``published`` is the default model; ``fast`` publishes 20 FHS days instead of 500 (S = 54 on
#: the bundled data) as a parameter set of its own, for a demo that proves quickly on 2 cores:
#: a chain deployed with it equals ``calcm margin --profile fast``, never a refit of ``published``.
def parameter_profile(name: str) -> ModelParams:
    """The :class:`ModelParams` of a named profile (``published`` or ``fast``)."""
    from dataclasses import replace
    base = ModelParams()
    if name == "published":
        return base
    if name == "fast":
        return replace(base, scenarios=replace(base.scenarios, n_fhs=20))
    raise ValueError(f"unknown parameter profile {name!r} (published, fast)")


PROFILES = ("published", "fast")
