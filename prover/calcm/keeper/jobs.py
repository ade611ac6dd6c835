"""What one keeper step reads, plans and reports (data only).

- :class:`ChainModel`: the registry's model and accounts root at one block;
- :class:`Job`: one proof to make and send, with its idempotency key (:mod:`.store`) and
  what the chain shows once it landed;
- :class:`BlockReport`: what one step did (the per-block log line and the stored report).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class BlockReport:
    """What one step did (the per-block line and the ``report`` stored with the block).

    ``model``: the model proofs mined at this head (``step:<day>``, ``reval``,
    ``options``); ``model_version``: the registry's version the margins were proven under.
    """

    block: int
    hash: str
    status: str = "processed"
    reason: str | None = None
    accounts: int = 0
    proven: int = 0
    groups: int = 0
    liquidatable: int = 0
    model: list = field(default_factory=list)
    day: int | None = None
    model_version: int | None = None
    margin_block: int | None = None
    steps: int = 0
    revals: int = 0
    option_parts: int = 0
    prices: dict | None = None
    reasons: dict = field(default_factory=dict)
    tiers: dict = field(default_factory=dict)
    float_tiers: dict = field(default_factory=dict)
    tier_mismatch: list = field(default_factory=list)
    submissions: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    prove_seconds: float = 0.0
    prove_cpu_seconds: float = 0.0
    submit_seconds: float = 0.0
    total_seconds: float = 0.0
    gas_used: int = 0
    coalesced: int = 0
    seen_at: float = 0.0
    mined_at: float | None = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ChainModel:
    """The registry's model and root at one block."""

    block: int
    timestamp: int
    day: int
    version: int
    version_block: int
    state: int
    lin: int
    opt: int
    opt_state: int
    opt_prices_at: int
    usable: bool
    accounts_root: int
    root_version: int


@dataclass
class Job:
    """One proof to make and send: its key, the :class:`~.proving.Provers` method and
    arguments, and what the chain shows once it landed (``expect``)."""

    kind: str               # step | reval | option | margin
    key: str
    method: str
    args: tuple
    block: int              # context block (margins, step, reval) or the head (options)
    expect: dict = field(default_factory=dict)
    group: int | None = None
    root_version: int | None = None
