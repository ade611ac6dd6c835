"""A deterministic synthetic book over a real book's instruments, for scaling benchmarks.

``synthetic_accounts(book, prices, n, seed)`` draws ``n`` accounts that trade the book's own
instruments (spot, perps and option series alike), so the margin model and the circuit shape
stay those of the bundled book while the account count scales (``calcm bench book
--accounts N``). Per account: 1 to 4 positions, each with a USD notional lognormal around
``notional_usd`` (options: the notional of the underlying, sign drawn so that about half
the option positions are short), converted to units at ``prices``; collateral in the book's
first stablecoin, plus, for 30% of accounts, 20% of the value in the first non-stable
collateral asset. Collateral is ``leverage^-1`` of the gross notional with the leverage
uniform in [1, 8], so the draw spans all four health tiers. Salts come from the seed.
"""
from __future__ import annotations

import numpy as np

from ..risk.book import Account, Book


def synthetic_accounts(book: Book, prices: dict[str, float], n: int, seed: int = 0,
                       notional_usd: float = 50_000.0) -> Book:
    """``book`` with its accounts replaced by ``n`` synthetic ones (see the module docstring).

    ``prices``: USD close per underlying and per non-stable collateral asset.
    """
    if n < 1:
        raise ValueError(f"accounts must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    stable = [c.asset for c in book.collateral if c.is_stable]
    crypto = [c.asset for c in book.collateral if not c.is_stable]
    if not stable:
        raise ValueError("the book has no stablecoin collateral asset")
    accounts = []
    for a in range(n):
        k = int(rng.integers(1, 5))
        picks = rng.choice(len(book.instruments), size=min(k, len(book.instruments)), replace=False)
        positions, gross = {}, 0.0
        for i in sorted(int(p) for p in picks):
            ins = book.instruments[i]
            usd = float(notional_usd * rng.lognormal(0.0, 0.8))
            qty = usd / prices[ins.underlying] * (1 if rng.random() < 0.5 else -1)
            positions[ins.id] = round(qty, 4) or 0.0001
            gross += abs(positions[ins.id]) * prices[ins.underlying]
        cash = gross / float(rng.uniform(1.0, 8.0))
        collateral = {stable[0]: round(cash, 2)}
        if crypto and rng.random() < 0.3:
            asset = crypto[0]
            collateral[stable[0]] = round(cash * 0.8, 2)
            collateral[asset] = round(cash * 0.2 / prices[asset], 4)
        salt = int(rng.integers(1, 2**62)) << 180 | int(rng.integers(1, 2**62))
        accounts.append(Account(f"synthetic-{a:05d}", positions, collateral, salt=salt))
    return Book(book.instruments, book.collateral, tuple(accounts), source=f"{book.source} (synthetic {n}, seed {seed})")
