"""The demo's oracle: replays a daily price history into the on-chain MockPriceFeeds.

Each replayed day is one block in which *every* feed publishes its new answer: the
replayer turns anvil's auto-mining off, sends one ``setAnswer`` per feed, mines them as one
block (``evm_mine``) and turns auto-mining back on. A keeper therefore never sees half a
day's prices (one asset moved, the other not), which would count as an extra model step.
On other nodes (py-evm) the answers go out one transaction each.

``publish_rounds`` sets answers with an explicit ``updatedAt`` (stale and malformed
prices in tests).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from web3 import Web3

from ..chain.evm import is_pyevm
from ..chain.registry import FEED_DECIMALS
from ..fixedpoint import VAR_FRAC


@dataclass(frozen=True)
class ReplayDay:
    """One day of the history: ``prices`` in USD, in the model's asset order."""

    date: str
    prices: tuple[float, ...]


def episode_days(market, assets: Sequence[str], start: str, days: int) -> list[ReplayDay]:
    """``days`` consecutive closes of ``assets`` from ``start`` (a date of ``market``).

    Raises ValueError when the window leaves the data or an asset has no close in it.
    """
    d0 = np.datetime64(start, "D")
    i0 = int(np.searchsorted(market.dates, d0))
    if i0 >= len(market.dates) or market.dates[i0] != d0:
        raise ValueError(f"{start} is not a date of {market.source}")
    if i0 + days > len(market.dates):
        raise ValueError(f"{days} days from {start} run past the end of {market.source}")
    cols = [market.index(a) for a in assets]
    out = []
    for i in range(i0, i0 + days):
        px = tuple(float(market.closes[i, c]) for c in cols)
        if not all(np.isfinite(px)) or min(px) <= 0:
            raise ValueError(f"{market.dates[i]}: no positive close for every asset of {list(assets)}")
        out.append(ReplayDay(str(market.dates[i]), px))
    return out


class PriceReplayer:
    """Publishes answers to MockPriceFeeds owned by ``owner`` (``decimals`` each)."""

    def __init__(self, w3: Web3, feeds: Sequence[str], owner: str, abi: list,
                 decimals: int = FEED_DECIMALS):
        self.w3, self.owner, self.decimals = w3, owner, decimals
        self.feeds = [w3.eth.contract(address=Web3.to_checksum_address(f), abi=abi) for f in feeds]

    def answer(self, usd: float) -> int:
        return round(usd * 10**self.decimals)

    def _mine_together(self, calls) -> int:
        """Send ``calls`` (contract functions) from the owner in one block; returns it."""
        w3 = self.w3
        if is_pyevm(w3):
            rs = [w3.eth.wait_for_transaction_receipt(c.transact({"from": self.owner})) for c in calls]
            return rs[-1].blockNumber
        w3.provider.make_request("evm_setAutomine", [False])
        try:
            # Explicit gas: estimation would run against the block before these answers.
            hashes = [c.transact({"from": self.owner, "gas": 200_000}) for c in calls]
            w3.provider.make_request("evm_mine", [])
        finally:
            w3.provider.make_request("evm_setAutomine", [True])
        receipts = [w3.eth.wait_for_transaction_receipt(h, timeout=60) for h in hashes]
        blocks = {r.blockNumber for r in receipts}
        if any(r.status != 1 for r in receipts) or len(blocks) != 1:
            raise RuntimeError(f"price update did not land in one block: {sorted(blocks)}")
        return blocks.pop()

    def publish(self, prices_usd: Sequence[float]) -> int:
        """Every feed's new answer (USD, feed order) in one block; returns the block number."""
        if len(prices_usd) != len(self.feeds):
            raise ValueError(f"{len(prices_usd)} prices for {len(self.feeds)} feeds")
        return self._mine_together([f.functions.setAnswer(self.answer(p))
                                    for f, p in zip(self.feeds, prices_usd)])

    def publish_rounds(self, rounds: Sequence[tuple[int, int, int]]) -> int:
        """Raw ``(feed index, answer, updated_at)`` rounds, in one block (tests: stale or
        malformed prices next to good ones); returns the block number."""
        return self._mine_together([self.feeds[i].functions.setRoundData(answer, updated_at)
                                    for i, answer, updated_at in rounds])


def intraday_path(prev: tuple[float, ...], close: tuple[float, ...], k: int, sigma2,
                  seed: str) -> list[tuple[float, ...]]:
    """``k`` SYNTHETIC intraday prices between two daily closes: a Brownian bridge in log
    price from ``prev`` to ``close`` over ``k + 1`` equal steps, each asset's step variance
    its daily variance ``sigma2`` (2**48 scale) / (k + 1), seeded by ``seed``
    (deterministic). The bridge is pinned at both ends, so the path ends at the close."""
    rng = random.Random(seed)
    out = [[0.0] * len(prev) for _ in range(k)]
    for u, (a, b) in enumerate(zip(prev, close)):
        sd = math.sqrt(max(sigma2[u], 0) / 2**VAR_FRAC / (k + 1))
        w = [0.0]
        for _ in range(k + 1):
            w.append(w[-1] + rng.gauss(0.0, sd))
        for j in range(1, k + 1):
            f = j / (k + 1)
            out[j - 1][u] = a * (b / a) ** f * math.exp(w[j] - f * w[k + 1])
    return [tuple(x) for x in out]
