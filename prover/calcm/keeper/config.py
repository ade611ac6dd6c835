"""The keeper's settings and constants (data only).

- :class:`KeeperConfig`: prices' maximum age, the rolling refresh period, the near-MM label
  buffer, the option revaluation margin, the poll period and the RPC backoff;
- :data:`FAULT_ENV`: the crash tests' fault injection variable (:mod:`.submission`);
- :data:`CONTEXT_MARGIN`: blocks before ``maxAge`` at which a stored proof is proven again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .retry import Backoff
from .selection import SelectionPolicy

FAULT_ENV = "CALCM_KEEPER_FAULT"
ZERO_ADDRESS = "0x" + "00" * 20
#: A stored proof whose context block is this close to leaving maxAge is proven again.
CONTEXT_MARGIN = 2


@dataclass(frozen=True)
class KeeperConfig:
    """Keeper settings (data).

    max_price_age:   seconds; older feed answers block revaluations and margins.
    refresh_blocks:  rolling refresh period N (< the registry's maxAge).
    near_mm_buffer:  equity within this fraction above MM is labelled ``near_mm``.
    option_margin:   seconds; the options are revalued this long before they go stale.
    poll_seconds:    sleep between head polls when there is nothing new.
    """

    max_price_age: int = 3600
    refresh_blocks: int = 16
    near_mm_buffer: float = 0.10
    option_margin: int = 0
    poll_seconds: float = 1.0
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self):
        if self.max_price_age <= 0:
            raise ValueError("max_price_age must be positive")
        if self.option_margin < 0:
            raise ValueError("option_margin must be >= 0")
        SelectionPolicy(self.near_mm_buffer, self.refresh_blocks)

    @property
    def policy(self) -> SelectionPolicy:
        return SelectionPolicy(self.near_mm_buffer, self.refresh_blocks)

