"""The inputs the equivalence audit runs through both implementations.

Margin circuit (any :class:`~calcm.zk.config.CircuitConfig`): one
:class:`MarginCase` is one batch, i.e. one aligned group of ``N`` accounts of
a venue tree, against one :class:`~calcm.risk.fixed_margin.MarginModelFx`.

- ``fixture``: the bundled market and book under their published model
  (:func:`calcm.risk.published.published_model`, the whole book: no sub-book),
  every group of the book, when the circuit has that model's structure;
- ``random``: seeded synthetic models and portfolios (:mod:`calcm.zk.synthetic`),
  placed in varying groups of the tree;
- ``edge``: adversarial cases built to sit on a boundary: zero positions,
  positions at the quantity range bounds with losses and collateral value next
  to the money bound, ties in the tail (the published tie rule: lower scenario
  index first), all scenarios equal, a crash day, a negative ES (ceil of a
  negative mean), equity exactly at each tier threshold and one unit either
  side (when the structure has a non-stablecoin collateral, priced at one
  money unit), extreme haircuts and collateral prices, a large liquidity add-on.

Model-update circuit (:class:`~calcm.zk.model_circuit.ModelCircuitConfig`): one
:class:`ModelCase` is one block: a state, the block's prices and the
parameters. Paths are chained (block n+1 starts from block n's new state):
seeded random paths, a -40% crash of every asset (correlation to one), a single
asset crash, a +50% rally, a flat block.

Everything is deterministic for a given seed.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass, replace
from typing import Sequence

from ..fixedpoint import BPS, MONEY_BITS, PRICE_SCALE, QTY_BITS, QTY_SCALE, FixedPointRangeError
from ..risk.fixed_margin import AccountFx, MarginModelFx, margin_fx
from ..zk.config import CircuitConfig
from ..risk.fixed_margin import empty_account
from ..zk.synthetic import random_account, random_model

#: Largest encodable quantity and money value (both ranges are open at +-2**bits).
Q_MAX = 2**QTY_BITS - 1
MONEY_MAX = 2**MONEY_BITS - 1


@dataclass(frozen=True)
class MarginCase:
    """One margin batch: ``leaves`` are the venue's accounts in leaf order, ``group`` the batch."""

    name: str
    kind: str                       # fixture | random | edge
    model: MarginModelFx
    leaves: tuple[AccountFx, ...]
    group: int = 0

    def accounts(self, N: int) -> list[AccountFx]:
        """The ``N`` accounts of the batch (padded with the empty account)."""
        chunk = list(self.leaves[self.group * N:(self.group + 1) * N])
        if not chunk:
            raise ValueError(f"{self.name}: group {self.group} is empty")
        n, m = len(chunk[0].qty), len(chunk[0].collateral)
        return chunk + [empty_account(n, m)] * (N - len(chunk))


def _salt(rng: random.Random) -> int:
    return rng.getrandbits(248)


def _in_group(config: CircuitConfig, accounts: Sequence[AccountFx],
              group: int) -> tuple[tuple[AccountFx, ...], int]:
    """Put ``accounts`` (at most N) at group ``group`` (earlier leaves: empty accounts)."""
    group = group % max(1, config.capacity // config.N)
    pad = [empty_account(config.n, config.m)] * (group * config.N)
    return tuple(pad + list(accounts)), group


def random_margin_cases(config: CircuitConfig, count: int, seed: int = 0) -> list[MarginCase]:
    """``count`` synthetic batches (models and portfolios from :mod:`calcm.zk.synthetic`)."""
    out = []
    for i in range(count):
        rng = random.Random(f"calcm-audit-margin-{seed}-{i}")
        model = random_model(config, rng)
        accs = [random_account(config, rng, model) for _ in range(config.N)]
        leaves, group = _in_group(config, accs, i)
        out.append(MarginCase(f"random portfolio batch (seed {seed}, #{i}, group {group})", "random",
                              model, leaves, group))
    return out


def fixture_margin_cases(config: CircuitConfig) -> list[MarginCase]:
    """Every group of the bundled book under its published model (docs/PROVING.md §1).

    Raises :class:`~calcm.errors.InputError` (:func:`calcm.zk.config.check_fits`) when
    the circuit does not have the published model's exact structure; the instrument and
    collateral counts are checked before the (slow) model is built.
    """
    from ..errors import InputError
    from ..risk.book import load_book
    from ..paths import DEFAULT_BOOK
    from ..zk.config import check_fits

    book = load_book(DEFAULT_BOOK)
    for key, have in (("n", len(book.quantities()[0])), ("m", len(book.collateral_amounts()[0]))):
        if have != getattr(config, key):
            raise InputError(str(DEFAULT_BOOK), "-", key, f"the bundled book has {key}={have}; circuit "
                             f"{config.name!r} holds {key}={getattr(config, key)}")
    model, accounts, names = _published_book()
    check_fits(model, config, len(accounts), str(DEFAULT_BOOK))
    groups = max(1, -(-len(accounts) // config.N))
    return [MarginCase(f"fixture book group {g} ({', '.join(names[g * config.N:(g + 1) * config.N])})",
                       "fixture", model, tuple(accounts), g) for g in range(groups)]


@functools.lru_cache(maxsize=1)
def _published_book():
    """(published MarginModelFx, encoded accounts, account ids) of the bundled market and book."""
    from ..market import load_market
    from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
    from ..risk.book import load_book
    from ..risk.fixed_margin import encode_book_accounts
    from ..risk.published import published_model

    book = load_book(DEFAULT_BOOK)
    pub = published_model(load_market(DEFAULT_MARKET, DEFAULT_VOLUMES), book)
    return pub.model, encode_book_accounts(book), [a.id for a in book.accounts]


# ---------------------------------------------------------------------------- edge cases

def _batches(config: CircuitConfig, name: str, model: MarginModelFx,
             accounts: Sequence[AccountFx]) -> list[MarginCase]:
    """Split ``accounts`` into batches of N (each its own case), checked by the reference."""
    for a in accounts:
        margin_fx(model, a)  # an edge case outside the ranges is a bug in this module
    out = []
    for b in range(0, len(accounts), config.N):
        chunk = accounts[b:b + config.N]
        leaves, group = _in_group(config, chunk, b // config.N)
        label = name if len(accounts) <= config.N else f"{name} [{b // config.N}]"
        out.append(MarginCase(label, "edge", model, leaves, group))
    return out


def _zero_positions(c: CircuitConfig, rng: random.Random) -> list[MarginCase]:
    model = random_model(c, rng)
    accs = [AccountFx((0,) * c.n, (0,) * c.m, _salt(rng)) for _ in range(c.N)]
    out = _batches(c, "edge: zero positions and zero collateral", model, accs)
    funded = [AccountFx((0,) * c.n, tuple(rng.randint(1, 10**6) for _ in range(c.m)), _salt(rng))
              for _ in range(c.N)]
    return out + _batches(c, "edge: zero positions with collateral", model, funded)


def _linear_count(c: CircuitConfig) -> list[int]:
    """Linear instruments per underlying (U,)."""
    cnt = [0] * c.U
    for kd, u in zip(c.kinds, c.under):
        if kd < 2:
            cnt[u] += 1
    return cnt


def _rows(c: CircuitConfig, lin_row, opt_row) -> dict:
    """``lin``/``opt`` fields for one scenario row per scenario (lists of S rows)."""
    return {"lin": tuple(tuple(r) for r in lin_row),
            "opt": tuple(tuple(r) for r in opt_row) if c.n_options else ()}


def _range_bounds(c: CircuitConfig, rng: random.Random, sign: int) -> list[MarginCase]:
    """|q| = 2**40 - 1 everywhere; the tail loss (with the perp charge) and collateral value near 2**63."""
    perps = [sum(1 for kd, u in zip(c.kinds, c.under) if kd == 1 and u == v) for v in range(c.U)]
    per_unit = MONEY_MAX // ((c.n + sum(perps)) * Q_MAX)   # (n + perps) * Q_MAX * per_unit <= 2**63 - 1
    # Collateral value near the bound: stablecoins take at most a quarter of it, the non-stable
    # collateral and (long) the spot marks share the rest at one price for every underlying.
    stable = sum(1 for cu in c.coll if cu < 0)
    c_stable = min(Q_MAX, (MONEY_MAX // 4) // (max(stable, 1) * PRICE_SCALE))
    shares = (c.m - stable) + sum(1 for kd in c.kinds if kd == 0)
    price = max(1, min(2**48 - 1, (MONEY_MAX - stable * c_stable * PRICE_SCALE) // (max(shares, 1) * Q_MAX),
                       MONEY_MAX // (max(_linear_count(c) + [1]) * Q_MAX)))
    tail = lambda w: [-sign * per_unit] * w                                  # noqa: E731
    rand = lambda w: [rng.randint(-per_unit, per_unit) for _ in range(w)]    # noqa: E731
    lin = [tail(c.U) if s < c.k else rand(c.U) for s in range(c.S)]
    opt = [tail(c.n_options) if s < c.k else rand(c.n_options) for s in range(c.S)]
    model = replace(random_model(c, rng), **_rows(c, lin, opt), price=(price,) * c.U,
                    opt_mark=(0,) * c.n_options, opt_expo=(0,) * c.n_options, haircut_bps=(0,) * c.m,
                    liquidity_weight_bps=(0,) * c.U, im_buffer_bps=0,
                    perp_move=tuple(per_unit if k else 0 for k in perps))
    coll = tuple(c_stable if cu < 0 else Q_MAX for cu in c.coll)
    accs = [AccountFx((sign * Q_MAX,) * c.n, coll, _salt(rng)) for _ in range(c.N)]
    what = "long" if sign > 0 else "short"
    return _batches(c, f"edge: {what} positions at the quantity bound, losses and collateral value "
                       f"at the money bound", model, accs)


def _small_model(c: CircuitConfig, rng: random.Random, **kw) -> MarginModelFx:
    """Per-unit values up to 1 USD, so money stays far from every bound (boundary tests)."""
    return replace(random_model(c, rng, pnl_usd=1.0, mark_usd=1.0), **kw)


def _small_account(c: CircuitConfig, rng: random.Random, collateral=None, sign: int = 0) -> AccountFx:
    qty = tuple((sign or rng.choice((-1, 1))) * rng.randint(1, 10**4) for _ in range(c.n))
    col = collateral if collateral is not None else tuple(rng.randint(0, 10**6) for _ in range(c.m))
    return AccountFx(qty, tuple(col), _salt(rng))


def _ties(c: CircuitConfig, rng: random.Random) -> list[MarginCase]:
    """k + 1 scenarios share the largest loss (the tail boundary falls inside a tie: the
    published rule takes the lower scenario indices)."""
    row_l = [-rng.randint(1, 10**6) for _ in range(c.U)]          # long accounts lose here
    row_o = [-rng.randint(1, 10**6) for _ in range(c.n_options)]
    tied = set(rng.sample(range(c.S), min(c.S, c.k + 1)))
    pick = lambda row, s: row if s in tied else [v // 2 for v in row]  # noqa: E731
    model = _small_model(c, rng, **_rows(c, [pick(row_l, s) for s in range(c.S)],
                                         [pick(row_o, s) for s in range(c.S)]))
    accs = [_small_account(c, rng, sign=1) for _ in range(c.N)]
    return _batches(c, f"edge: ties in the tail ({len(tied)} scenarios share the top loss, k={c.k})",
                    model, accs)


def _all_equal(c: CircuitConfig, rng: random.Random) -> list[MarginCase]:
    row_l = [rng.randint(-10**6, 10**6) for _ in range(c.U)]
    row_o = [rng.randint(-10**6, 10**6) for _ in range(c.n_options)]
    model = _small_model(c, rng, **_rows(c, [row_l] * c.S, [row_o] * c.S))
    return _batches(c, "edge: all scenarios equal", model, [_small_account(c, rng) for _ in range(c.N)])


def _crash(c: CircuitConfig, rng: random.Random) -> list[MarginCase]:
    """Scenario 0: every underlying and option premium loses 40%; scenario 1: +25% (correlation to one)."""
    model = random_model(c, rng)
    crash = ([-(4 * p) // 10 for p in model.price], [-(4 * mk) // 10 for mk in model.opt_mark])
    rally = ([p // 4 for p in model.price], [mk // 4 for mk in model.opt_mark])
    lin = [crash[0], rally[0]] + [list(r) for r in model.lin[2:]]
    opt = [crash[1], rally[1]] + [list(r) for r in model.opt[2:]] if c.n_options else []
    model = replace(model, **_rows(c, lin[:c.S], opt[:c.S]))
    accs = [random_account(c, rng, model) for _ in range(c.N)]
    return _batches(c, "edge: crash day (-40% on every underlying and option) and rally (+25%)", model, accs)


def _negative_es(c: CircuitConfig, rng: random.Random) -> list[MarginCase]:
    """Every loss negative: es_raw = ceil of a negative mean (rounds toward zero), es = 0."""
    model = _small_model(c, rng, **_rows(c, [[rng.randint(1, 10**6) for _ in range(c.U)] for _ in range(c.S)],
                                         [[rng.randint(1, 10**6) for _ in range(c.n_options)]
                                          for _ in range(c.S)]))
    return _batches(c, "edge: negative ES (every scenario a gain)", model,
                    [_small_account(c, rng, sign=1) for _ in range(c.N)])


def _tier_boundaries(c: CircuitConfig, rng: random.Random) -> list[MarginCase]:
    """Equity exactly at MM, IM and the warning line, and one money unit either side.

    Every price is one money unit per quantity unit, option premiums 0, and a
    non-stablecoin collateral ``j`` has no haircut, so its amount moves equity by
    exactly one unit each (margins do not depend on collateral). Without such a
    collateral (every collateral a stablecoin at 1 USD) the case is not built.
    """
    j = next((j for j, cu in enumerate(c.coll) if cu >= 0), None)
    if j is None:
        return []
    model = _small_model(c, rng, price=(1,) * c.U, opt_mark=(0,) * c.n_options, haircut_bps=(0,) * c.m,
                         **_rows(c, [[-rng.randint(1, 10**6) for _ in range(c.U)] for _ in range(c.S)],
                                 [[-rng.randint(1, 10**6) for _ in range(c.n_options)] for _ in range(c.S)]))
    accs = []
    for _ in range(2):
        base = _small_account(c, rng, collateral=(0,) * c.m, sign=1)
        r = margin_fx(model, base)
        warn = -((-r.im * (BPS + model.warn_buffer_bps)) // BPS)   # smallest E with E*BPS >= im*(BPS+w)
        for target in (r.mm - 1, r.mm, r.im - 1, r.im, warn - 1, warn):
            col = [0] * c.m
            col[j] = max(target - r.equity, 0)
            accs.append(replace(base, collateral=tuple(col), salt=_salt(rng)))
    return _batches(c, "edge: equity at each tier threshold and one unit either side", model, accs)


def _collateral_extremes(c: CircuitConfig, rng: random.Random) -> list[MarginCase]:
    """Haircuts 99.99% / 0% alternating, and the smallest price (one money unit) on the last
    non-stablecoin collateral's underlying."""
    model = random_model(c, rng)
    hair = tuple((9999, 0)[j % 2] for j in range(c.m))
    price = list(model.price)
    last = [cu for cu in c.coll if cu >= 0][-1:]
    for u in last:
        price[u] = 1
    model = replace(model, haircut_bps=hair, price=tuple(price))
    return _batches(c, "edge: haircut 99.99% / 0% and a one-unit collateral price", model,
                    [random_account(c, rng, model) for _ in range(c.N)])


def _large_addon(c: CircuitConfig, rng: random.Random) -> list[MarginCase]:
    """ADV of 1 USD and a 100% weight: the add-on dominates the margin."""
    model = replace(random_model(c, rng, pnl_usd=10.0, mark_usd=10.0), adv=(1,) * c.U,
                    liquidity_weight_bps=(BPS,) * c.U)
    accs = [AccountFx(tuple(rng.randint(-QTY_SCALE, QTY_SCALE) for _ in range(c.n)),
                      tuple(rng.randint(0, 10**6) for _ in range(c.m)), _salt(rng)) for _ in range(c.N)]
    return _batches(c, "edge: liquidity add-on dominates (ADV 1 USD, weight 100%)", model, accs)


EDGE_CASES = (_zero_positions, lambda c, r: _range_bounds(c, r, 1), lambda c, r: _range_bounds(c, r, -1),
              _ties, _all_equal, _crash, _negative_es, _tier_boundaries, _collateral_extremes, _large_addon)


def edge_margin_cases(config: CircuitConfig, seed: int = 0) -> list[MarginCase]:
    """Every adversarial case of the module docstring for ``config``'s shape."""
    out = []
    for i, make in enumerate(EDGE_CASES):
        out += make(config, random.Random(f"calcm-audit-edge-{seed}-{i}"))
    return out


# ---------------------------------------------------------------------------- model update

@dataclass(frozen=True)
class ModelCase:
    """One block of the model update: ``state`` + ``prices`` under ``params``."""

    name: str
    kind: str                   # random | edge | fixture
    state: object               # ModelStateFx
    prices: tuple[int, ...]


def params_for_config(config, seed: int = 0):
    """Synthetic :class:`~calcm.risk.modelfx.ModelParamsFx` with exactly ``config``'s structure.

    Looks like a fitted daily crypto model (as :mod:`calcm.zk.model_synthetic`), for
    any instrument kinds, underlyings and collateral map. Raises ``ValueError``
    if the result does not have the circuit's structure id.
    """
    from ..fixedpoint import GARCH_FRAC, IV_FRAC, T_FRAC, VAR_FRAC, Z_FRAC
    from ..risk.modelfx import KINDS, CollateralFx, InstrumentFx, ModelParamsFx
    from ..zk.model_circuit import ModelCircuitConfig
    from ..zk.model_synthetic import ASSET_NAMES, BASE_PRICES, random_shocks

    rng = random.Random(f"calcm-audit-params-{seed}")
    U, S = config.U, config.S
    assets = ASSET_NAMES[:U] if U <= len(ASSET_NAMES) else tuple(f"A{u}" for u in range(U))
    ins = []
    for i, (code, u) in enumerate(zip(config.kinds, config.under)):
        kind = KINDS[code]
        if kind in ("spot", "perp"):
            ins.append(InstrumentFx(f"{assets[u]}-{kind}-{i}", kind, u))
        else:
            base = BASE_PRICES[u % len(BASE_PRICES)]
            ins.append(InstrumentFx(f"{assets[u]}-{kind}-{i}", kind, u,
                                    round(base * rng.choice((0.8, 0.9, 1.0, 1.1, 1.25)) * PRICE_SCALE),
                                    rng.choice((7, 14, 30, 60, 90)) * 2**T_FRAC,
                                    round(rng.uniform(0.5, 1.2) * 2**IV_FRAC)))
    col = tuple(CollateralFx("USDC" if cu < 0 else f"{assets[cu]}-c{j}", cu,
                             100 if cu < 0 else 500 + 100 * (cu % 5))
                for j, cu in enumerate(config.coll))
    z = []
    for s in range(S):
        row = [-6.0] * U if s == 0 else [6.0] * U if s == 1 else \
            [rng.gauss(0, 1) * rng.choice((1, 1, 2, 3)) for _ in range(U)]
        z.append(tuple(max(-40 * 2**Z_FRAC, min(40 * 2**Z_FRAC, round(v * 2**Z_FRAC))) for v in row))
    g = lambda lo, hi: tuple(round(rng.uniform(lo, hi) * 2**GARCH_FRAC) for _ in range(U))  # noqa: E731
    params = ModelParamsFx(
        assets=assets, instruments=tuple(ins), collateral=col,
        omega=tuple(round(rng.uniform(5e-6, 3e-5) * 2**VAR_FRAC) for _ in range(U)),
        alpha=g(0.04, 0.12), gamma=g(0.0, 0.08), beta=g(0.80, 0.90), z=tuple(z),
        **random_shocks(rng, z),
        horizon_days=2, k_tail=config.k, im_buffer_bps=2500, warn_buffer_bps=2000, min_return_bps=-9500,
        adv=tuple(10**9 // (u + 1) for u in range(U)),
        liquidity_weight_bps=tuple(2500 if u < 2 else 7000 for u in range(U)), chunks=config.C,
        perp_shock_bps=tuple(726 if u < 2 else 1700 for u in range(U)),
        # an APC floor (3.2%-5.5% daily vol) on even assets: binding on calm blocks, not after a crash
        var_floor=tuple(round(rng.uniform(1e-3, 3e-3) * 2**VAR_FRAC) if u % 2 == 0 else 0 for u in range(U)))
    if ModelCircuitConfig.from_params(params, config.name, config.kind) != config:
        raise ValueError(f"synthetic parameters do not have the structure of {config.name!r}")
    return params


def model_cases(params, state, seed: int = 0, n_random: int = 2, steps: int = 3) -> list[ModelCase]:
    """Chained blocks from ``state`` (see the module docstring); blocks the reference rejects are
    dropped (a price path that leaves a documented range is not an equivalence case)."""
    from ..risk.modelfx import update
    from ..zk.model_synthetic import price_path

    U = params.n_assets
    paths: list[tuple[str, str, list[list[float]]]] = []
    for i in range(n_random):
        rng = random.Random(f"calcm-audit-path-{seed}-{i}")
        paths.append((f"random path #{i}", "random",
                      [[rng.gauss(0, 0.03) for _ in range(U)] for _ in range(steps)]))
    paths += [
        ("crash day: every asset -40% (correlation to one), then a rebound", "edge",
         [[-0.4] * U, [0.1] * U]),
        ("single-asset crash: asset 0 -40%, the others +5%", "edge", [[-0.4] + [0.05] * (U - 1)]),
        ("rally: every asset +50%", "edge", [[0.5] * U]),
        ("flat block: no price change", "edge", [[0.0] * U]),
    ]
    out = []
    for name, kind, returns in paths:
        st = state
        for b, prices in enumerate(price_path(state, returns)):
            try:
                nxt = update(st, prices, params).state
            except FixedPointRangeError:
                break
            out.append(ModelCase(f"{name} (block {b + 1})", kind, st, tuple(prices)))
            st = nxt
    return out
