"""Backtest books: the bundled families, seeded random books, and their one-day losses.

A book holds **USD weights** per asset (linear legs are **spot**, long > 0, short < 0:
no perp basis or funding charge, docs/MODEL.md section 5, as no perp or funding history is
bundled to realise one) and optional **option legs**. Losses are per the book's weights
(a book of gross weight 1 loses fractions of 1 USD).

An option leg is a *rolling* option: at every close t a fresh European option on the
asset with strike ``K = moneyness * S_t`` and ``expiry_days`` to expiry, on a USD
notional ``weight`` of underlying (signed: < 0 is written). No implied-vol history is
bundled, so the implied vol is a **model-implied proxy**: the annualised GARCH
forecast, ``iv_t = sigma_{t+1|t} sqrt(365)``. Its realised change is the GARCH
update over the realised return (``iv_{t+1}`` from ``sigma2_{t+2|t+1} = omega +
alpha r^2 + gamma r^2 1[r<0] + beta sigma2_{t+1|t}`` with day t's parameters), so the
backtest checks the scenarios' vol shocks ``v_s`` against how that proxy actually
moved. One USD of notional of a Black-76 option is scale-free:
``B76(S (1 + r), m S, T, iv) / S = B76(1 + r, m, T, iv)``, so

    scenario loss  = -weight * (B76(1 + r_s, m, T - 1/365, iv_t (1 + v_s)) - B76(1, m, T, iv_t))
    realised loss  = -weight * (B76(P_{t+1} / P_t, m, T - 1/365, iv_{t+1}) - B76(1, m, T, iv_t))

Families (:func:`default_books`): ``single`` (long one asset), ``diversified``
(equal long weights), ``long_short`` (BTC/ETH hedge, majors vs alts), ``option``
(short BTC straddle, long ETH put with long ETH, written BTC call against long BTC).
:func:`random_books` draws from the bundled instrument kinds (linear spot legs and
30-day calls and puts at the bundled book's moneyness range) with a fixed seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..risk.instruments import DAYS_PER_YEAR, MONEYNESS_CAP, black76

FAMILIES = ("single", "diversified", "long_short", "option", "random")


@dataclass(frozen=True)
class OptionLeg:
    """A rolling European option: USD notional ``weight`` (signed), strike ``moneyness * S_t``."""

    asset: str
    option_type: str          # "call" or "put"
    weight: float
    moneyness: float = 1.0
    expiry_days: float = 30.0

    def __post_init__(self):
        if self.option_type not in ("call", "put"):
            raise ValueError(f"option_type must be 'call' or 'put', got {self.option_type!r}")
        if not (self.moneyness > 0 and self.expiry_days > 1):
            raise ValueError("moneyness must be > 0 and expiry_days > 1")

    def to_json(self) -> dict:
        return {"asset": self.asset, "type": self.option_type, "weight": self.weight,
                "moneyness": self.moneyness, "expiry_days": self.expiry_days}


@dataclass(frozen=True)
class BacktestBook:
    """A book of USD weights per asset (long > 0, short < 0), e.g. ``{"BTC": 1, "ETH": -1}``."""

    name: str
    weights: dict[str, float]
    options: tuple[OptionLeg, ...] = ()
    family: str = field(default="single", compare=False)

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.weights, *(o.asset for o in self.options)]))

    def to_json(self) -> dict:
        return {"book": self.name, "family": self.family, "weights": self.weights,
                "options": [o.to_json() for o in self.options]}


def default_books(assets: tuple[str, ...]) -> list[BacktestBook]:
    """The bundled families on the assets available (see the module docstring)."""
    books = [BacktestBook(f"long_{a}", {a: 1.0}, family="single") for a in assets]
    books.append(BacktestBook("diversified", {a: 1.0 / len(assets) for a in assets}, family="diversified"))
    if {"BTC", "ETH"} <= set(assets):
        books.append(BacktestBook("btc_eth_hedge", {"BTC": 0.5, "ETH": -0.5}, family="long_short"))
        alts = [a for a in assets if a not in ("BTC", "ETH")]
        if alts:
            w = {"BTC": 0.25, "ETH": 0.25}
            w.update({a: -0.5 / len(alts) for a in alts})
            books.append(BacktestBook("majors_vs_alts", w, family="long_short"))
        books += [
            BacktestBook("short_straddle_BTC", {}, (OptionLeg("BTC", "call", -0.5), OptionLeg("BTC", "put", -0.5)),
                         family="option"),
            BacktestBook("protective_put_ETH", {"ETH": 0.5}, (OptionLeg("ETH", "put", 0.5, 0.9),),
                         family="option"),
            BacktestBook("covered_call_BTC", {"BTC": 0.5}, (OptionLeg("BTC", "call", -0.5, 1.05),),
                         family="option"),
        ]
    return books


def random_books(assets: tuple[str, ...], n: int, seed: int) -> list[BacktestBook]:
    """``n`` books drawn with ``numpy.random.default_rng(seed)`` (gross weight 1 each).

    Each book: 1 to min(5, U) distinct assets, each a linear leg with a random sign
    (60% long) and a Dirichlet weight; with probability 0.3 one option leg on one of
    them (call at moneyness 1.00-1.10 or put at 0.83-1.00, the bundled book's range,
    30 days, bought or written with equal odds) taking a share of the gross.
    """
    if n < 1:
        raise ValueError("need at least one random book")
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        m = int(rng.integers(1, min(5, len(assets)) + 1))
        pick = [assets[i] for i in rng.choice(len(assets), m, replace=False)]
        w = rng.dirichlet(np.ones(m + 1))
        sign = np.where(rng.random(m) < 0.6, 1.0, -1.0)
        weights = {a: float(s * x) for a, s, x in zip(pick, sign, w[:m])}
        opts = ()
        if rng.random() < 0.3:
            a = pick[int(rng.integers(m))]
            call = bool(rng.random() < 0.5)
            mny = float(rng.uniform(1.0, 1.1) if call else rng.uniform(0.83, 1.0))
            opts = (OptionLeg(a, "call" if call else "put", float(w[m]) * (1 if rng.random() < 0.5 else -1), mny),)
        else:
            weights[pick[0]] += float(np.sign(weights[pick[0]]) * w[m])
        out.append(BacktestBook(f"random_{k:04d}", weights, opts, family="random"))
    return out


class BookLosses:
    """Vectorised one-day losses of B books on U assets (the ``assets`` order).

    ``W`` (B, U) is the linear part; option legs are evaluated leg by leg.
    """

    def __init__(self, books: list[BacktestBook], assets: tuple[str, ...]):
        self.books, self.assets = books, assets
        col = {a: u for u, a in enumerate(assets)}
        self.W = np.array([[b.weights.get(a, 0.0) for a in assets] for b in books])     # (B, U)
        self.legs = [(b, col[o.asset], o) for b, bk in enumerate(books) for o in bk.options]

    @property
    def has_options(self) -> np.ndarray:
        """(B,) bool: the book has an option leg."""
        out = np.zeros(len(self.books), bool)
        out[[b for b, _, _ in self.legs]] = True
        return out

    @staticmethod
    def _option_pnl(leg: OptionLeg, gross, iv: float, vol_shock, days: int = 1) -> np.ndarray:
        T0 = leg.expiry_days / DAYS_PER_YEAR
        T1 = max(leg.expiry_days - days, 0.0) / DAYS_PER_YEAR
        call = leg.option_type == "call"
        v0 = black76(1.0, leg.moneyness, T0, iv, call)
        return leg.weight * (black76(gross, leg.moneyness, T1, iv * (1.0 + vol_shock), call) - v0)

    def scenario(self, returns: np.ndarray, vol_shock: np.ndarray, skew_shock: np.ndarray,
                 sigma: np.ndarray, days: int = 1) -> np.ndarray:
        """(B, S) losses: scenario returns, vol and skew shocks (S, U) over ``days``, one-day vols (U,).

        The leg's relative vol shock is ``v + kappa m``, ``m`` its clipped log-moneyness
        (the rule of :func:`calcm.risk.instruments.value_instruments`)."""
        L = -(self.W @ returns.T)
        for b, u, leg in self.legs:
            iv = float(sigma[u]) * np.sqrt(DAYS_PER_YEAR)
            m = float(np.clip(np.log(leg.moneyness), -MONEYNESS_CAP, MONEYNESS_CAP))
            shock = np.asarray(vol_shock)[:, u] + np.asarray(skew_shock)[:, u] * m
            L[b] -= self._option_pnl(leg, 1.0 + returns[:, u], iv, shock, days)
        return L

    def realised(self, ret: np.ndarray, sigma: np.ndarray, days: int = 1,
                 sigma_after: np.ndarray | None = None) -> np.ndarray:
        """(B,) realised losses for simple returns (U,) over ``days``.

        ``sigma`` (U,) the one-day vols at the start, ``sigma_after`` (U,) at the end
        (default: unchanged); the option's implied vol moves by their ratio.
        """
        L = -(self.W @ ret)
        after = sigma if sigma_after is None else sigma_after
        for b, u, leg in self.legs:
            iv = float(sigma[u]) * np.sqrt(DAYS_PER_YEAR)
            L[b] -= float(self._option_pnl(leg, 1.0 + ret[u], iv, float(after[u]) / float(sigma[u]) - 1.0, days))
        return L
