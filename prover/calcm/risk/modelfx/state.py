"""The chained model state v2 (docs/PROVING.md §5).

``ModelStateFx(day, sigma2[U], price[U])``: ``day`` is the UTC day number
(``updatedAt // 86400``) of the close held in ``price`` (PRICE), and
``sigma2[u]`` (2**48) the GARCH variance of asset u's return over the next day.
A daily step moves ``day -> day + 1``; an intraday revaluation never changes it.
"""
from __future__ import annotations

from dataclasses import dataclass

from ...fixedpoint import FixedPointRangeError
from ._sponge import poseidon_sponge
from .constants import DAY, PRICE_POS, STATE_DOMAIN, VARIANCE


@dataclass(frozen=True)
class ModelStateFx:
    """``(day, sigma2, price)``; :meth:`commitment` is what the registry stores."""

    day: int
    sigma2: tuple[int, ...]
    price: tuple[int, ...]

    def __post_init__(self):
        if len(self.sigma2) != len(self.price):
            raise ValueError("sigma2 and price must have one value per asset")
        if not DAY.low <= self.day < DAY.high:
            raise FixedPointRangeError("state day", self.day, DAY.low, DAY.high)
        for u, (s2, p) in enumerate(zip(self.sigma2, self.price)):
            VARIANCE.check(s2, f"state sigma2[{u}]")
            PRICE_POS.check(p, f"state price[{u}]")

    @property
    def step(self) -> int:
        """Transition alias of :attr:`day` (the v1 state counted updates)."""
        return self.day

    def field_elements(self) -> list[int]:
        """``[STATE_DOMAIN, U, day] + sigma2 + price``."""
        return [STATE_DOMAIN, len(self.price), self.day] + list(self.sigma2) + list(self.price)

    def commitment(self) -> int:
        return poseidon_sponge(self.field_elements())

    def to_json(self) -> dict:
        return {"day": self.day, "sigma2": list(self.sigma2), "price": list(self.price)}

    @classmethod
    def from_json(cls, d: dict) -> "ModelStateFx":
        return cls(int(d["day"]), tuple(int(v) for v in d["sigma2"]), tuple(int(v) for v in d["price"]))
