"""Oracle prices as the keeper reads them: Chainlink-style feeds, checked before use.

For each asset (in the model's asset order, the registry's feed order) the keeper reads
``latestRoundData()`` and ``decimals()`` of its feed *at the block it processes* and
converts the answer to ``PRICE_SCALE`` fixed point exactly as the registry does
(:func:`calcm.chain.encoding.feed_price_fx`: rounded down; the model update proves
against the registry's ``packedPrices()``, so the two must agree bit for bit).

A price is refused (:class:`PriceRejected`, with a one-line reason) when:

- the feed has no round yet, or the call fails;
- the answer is not positive, or does not fit the registry's 50-bit price lane;
- ``updatedAt`` is 0 or after the block's timestamp (a feed dated in the future);
- the answer is older than ``max_age`` seconds at the block's timestamp.

``max_age`` is the keeper's own bound; the registry enforces ``maxPriceAge`` again when a
revaluation is submitted, so the effective bound is the smaller of the two.

Daily closes (:meth:`FeedReader.close_rounds`): the close of day ``d`` is, per feed, the
first round dated at or after 00:00 UTC of ``d + 1`` (``86400 (d + 1)``), whose predecessor
is older, exactly as the registry's ``submitModelStep`` checks it. Rounds are found by
binary search over ``getRoundData`` on round ids ``1 .. latestRound`` (contiguous ids, as
``MockPriceFeed`` and one Chainlink aggregator phase number them; the round ids of a
Chainlink proxy carry the phase in their top bits, and a search across a phase change is not
supported: the keeper then reports the day as having no close).
"""
from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from ..chain.encoding import DAY, feed_price_fx


class PriceRejected(RuntimeError):
    """A feed answer the keeper must not act on (``reason`` says why, naming the asset)."""

    def __init__(self, asset: str, reason: str):
        self.asset, self.reason = asset, reason
        super().__init__(f"{asset}: {reason}")


@dataclass(frozen=True)
class FeedRound:
    """One feed's latest round at a block: raw answer and its PRICE_SCALE value."""

    asset: str
    feed: str
    round_id: int
    answer: int
    decimals: int
    updated_at: int
    price: int


@dataclass(frozen=True)
class PriceSnapshot:
    """Every asset's latest round at ``block`` (timestamp ``timestamp``, seconds)."""

    block: int
    timestamp: int
    rounds: tuple[FeedRound, ...]

    @property
    def prices(self) -> tuple[int, ...]:
        """PRICE_SCALE prices in asset order."""
        return tuple(r.price for r in self.rounds)

    @property
    def round_ids(self) -> tuple[int, ...]:
        return tuple(r.round_id for r in self.rounds)

    @property
    def max_age(self) -> int:
        """Seconds since the oldest answer was updated."""
        return max(self.timestamp - r.updated_at for r in self.rounds)

    def usd(self) -> dict[str, float]:
        from ..fixedpoint import PRICE_SCALE
        return {r.asset: r.price / PRICE_SCALE for r in self.rounds}


@dataclass(frozen=True)
class DailyClose:
    """The close of UTC day ``day``: per feed, its first round at or after 00:00 of ``day + 1``."""

    day: int
    rounds: tuple[FeedRound, ...]

    @property
    def round_ids(self) -> tuple[int, ...]:
        return tuple(r.round_id for r in self.rounds)

    @property
    def prices(self) -> tuple[int, ...]:
        return tuple(r.price for r in self.rounds)


class FeedReader:
    """Reads and checks the feeds of ``assets`` (one address each, same order).

    ``abi``: an AggregatorV3Interface ABI (the MockPriceFeed artifact's is a superset).
    """

    def __init__(self, w3: Web3, feeds: list[str], assets: list[str], abi: list, max_age: int):
        if len(feeds) != len(assets):
            raise ValueError(f"{len(feeds)} feeds for {len(assets)} assets")
        if max_age <= 0:
            raise ValueError("max_age must be positive (seconds)")
        self.w3, self.assets, self.max_age = w3, list(assets), int(max_age)
        self.feeds = [w3.eth.contract(address=Web3.to_checksum_address(f), abi=abi) for f in feeds]
        self._decimals: dict[int, int] = {}

    def _read_one(self, i: int, block: int) -> tuple[int, int, int]:
        from web3.exceptions import ContractLogicError
        feed = self.feeds[i]
        try:
            if i not in self._decimals:
                self._decimals[i] = int(feed.functions.decimals().call())
            rid, answer, _, updated_at, _ = feed.functions.latestRoundData().call(
                block_identifier=block)
        except ContractLogicError as exc:
            raise PriceRejected(self.assets[i], f"feed {feed.address} has no readable round "
                                                f"({exc.__class__.__name__})") from None
        return int(rid), int(answer), int(updated_at)

    def _round(self, i: int, rid: int, block) -> tuple[int, int, int, int] | None:
        """``(roundId, answer, updatedAt, answeredInRound)`` of round ``rid``, None if absent."""
        from web3.exceptions import ContractLogicError
        try:
            r = self.feeds[i].functions.getRoundData(rid).call(block_identifier=block)
        except ContractLogicError:
            return None
        return int(r[0]), int(r[1]), int(r[3]), int(r[4])

    def first_round_at_or_after(self, i: int, instant: int, block) -> int | None:
        """The id of feed ``i``'s first round dated at or after ``instant`` (None: none yet).

        Binary search over ids ``1 .. latestRound`` (updatedAt never decreases)."""
        rid, _, updated_at = self._read_one(i, block)
        if updated_at < instant:
            return None
        lo, hi = 1, rid                         # invariant: round hi is at or after instant
        while lo < hi:
            mid = (lo + hi) // 2
            r = self._round(i, mid, block)
            if r is not None and r[2] >= instant:
                hi = mid
            else:
                lo = mid + 1
        return hi

    def close_rounds(self, day: int, block) -> "DailyClose | None":
        """The close of UTC day ``day`` on every feed (the rounds the step from ``day - 1``
        takes), or None while some feed has no round at or after ``86400 (day + 1)``.

        Raises :class:`PriceRejected` for a close the registry would refuse: a carried-over
        answer (``answeredInRound < roundId``) or a price outside ``[1, 2**48)``."""
        instant = DAY * (day + 1)
        rounds = []
        for i, asset in enumerate(self.assets):
            rid = self.first_round_at_or_after(i, instant, block)
            if rid is None:
                return None
            _, answer, updated_at, answered_in = self._round(i, rid, block)
            if answered_in < rid:
                raise PriceRejected(asset, f"close round {rid} carries round {answered_in}'s answer")
            try:
                price = feed_price_fx(answer, self._decimals[i])
            except ValueError as exc:
                raise PriceRejected(asset, f"close round {rid}: {exc}") from None
            rounds.append(FeedRound(asset, self.feeds[i].address, rid, answer,
                                    self._decimals[i], updated_at, price))
        return DailyClose(day, tuple(rounds))

    def read(self, block: int, timestamp: int) -> PriceSnapshot:
        """The checked snapshot at ``block`` (see the module docstring); raises PriceRejected."""
        rounds = []
        for i, asset in enumerate(self.assets):
            rid, answer, updated_at = self._read_one(i, block)
            dec = self._decimals[i]
            if updated_at == 0 or updated_at > timestamp:
                raise PriceRejected(asset, f"answer dated {updated_at}, after the block's "
                                           f"timestamp {timestamp}")
            age = timestamp - updated_at
            if age > self.max_age:
                raise PriceRejected(asset, f"stale: answer is {age} s old, max {self.max_age} s")
            try:
                price = feed_price_fx(answer, dec)
            except ValueError as exc:
                raise PriceRejected(asset, f"malformed answer: {exc}") from None
            rounds.append(FeedRound(asset, self.feeds[i].address, rid, answer, dec, updated_at,
                                    price))
        return PriceSnapshot(block, timestamp, tuple(rounds))
