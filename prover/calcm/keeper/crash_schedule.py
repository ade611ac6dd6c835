"""Kill -9 robustness: `calcm keeper` as a subprocess against anvil, SIGKILLed on a seeded
schedule, restarted on the same store; the chain must hold exactly the scheduled proofs.

A **schedule** (:func:`make_schedule`, seeded) is ``blocks`` rounds on a small world (three
accounts in two groups of two, S = 12, an option chain of two parts). Round 0 is the
genesis head; every later round is one driver block:

=========  ========================================  ==========================================
round      driver action                             keeper submissions it must cause
=========  ========================================  ==========================================
genesis    (the keeper starts)                       reval, option parts 0..P-1, margin per group
intraday   every feed publishes a new answer         reval, margin per group
close      the day's close, first round after 00:00  step, option parts 0..P-1, margin per group
root       the venue edits one account, posts root   margin per group (a new root version)
quiet      an empty block                            nothing
=========  ========================================  ==========================================

``kills`` rounds with work (seeded) carry a kill, in one of two modes:

- ``after-send``: the keeper is armed (``CALCM_KEEPER_FAULT=file:PATH``, :mod:`.submission`)
  to SIGKILL itself right after the K-th submission of the round is mined and before it is
  recorded (K seeded in 1..the round's submissions): the worst moment for idempotency;
- ``delay``: the driver SIGKILLs the process a seeded delay after the round's block (any
  phase: planning, proving on the dask pool, sending, recording, idle).

Either way the driver (:mod:`.crash_run`) restarts the keeper on the same SQLite store
and waits until it has
accounted for the chain's head (quiescence) before the next round. The keeper signs with an
encrypted keystore (``--keystore``) of anvil's well-known dev account 2 (dev-only: derived
from anvil's public test mnemonic, never a secret).

**Check** (:func:`outcome`): every keeper transaction on chain is decoded to
``(kind, group, round)`` (``group``: the margin group or the option part; ``round``: the
latest driver block at or before the transaction) and counted as landed or reverted. Nothing
lost or duplicated means: landed == the schedule's expectation exactly and reverted == 0.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace

KINDS = {"submitModelStep": "step", "submitModelReval": "reval", "submitOptionPart": "option",
         "submitMarginBatch": "margin"}


@dataclass(frozen=True)
class Kill:
    """``mode``: ``after-send`` (``value``: K) or ``delay`` (``value``: seconds)."""

    mode: str
    value: float


@dataclass(frozen=True)
class Round:
    index: int
    kind: str                 # genesis | intraday | close | root | quiet
    day: int = 0              # replay day (intraday: the day it falls in; close: the day closed)
    hour: int = 0             # intraday: hours after 00:00 UTC of ``day``
    kill: Kill | None = None


def expected_submissions(r: Round, n_groups: int, n_parts: int) -> Counter:
    """The ``(kind, group)`` submissions round ``r`` must cause (module docstring)."""
    c: Counter = Counter()
    margins = {("margin", g): 1 for g in range(n_groups)}
    parts = {("option", j): 1 for j in range(n_parts)}
    if r.kind == "genesis":
        c.update({("reval", None): 1, **parts, **margins})
    elif r.kind == "intraday":
        c.update({("reval", None): 1, **margins})
    elif r.kind == "close":
        c.update({("step", None): 1, **parts, **margins})
    elif r.kind == "root":
        c.update(margins)
    return c


def make_schedule(blocks: int, kills: int, days: int, seed: int, n_groups: int = 2,
                  n_parts: int = 2, max_delay: float = 6.0, intraday: float = 0.3,
                  root: float = 0.08) -> list[Round]:
    """``blocks`` rounds over ``days`` replay days with ``kills`` seeded kills (docstring);
    ``intraday`` / ``root``: the chance that a round between closes is one."""
    if blocks < 2 * days + 1:
        raise ValueError(f"{blocks} blocks cannot hold {days} daily closes")
    rng = random.Random(seed)
    closes = {round(blocks * (d + 1) / (days + 0.5)): d for d in range(days)}
    rounds, day, hour = [Round(0, "genesis")], 0, 0
    for i in range(1, blocks):
        if i in closes:
            rounds.append(Round(i, "close", closes[i]))
            day, hour = closes[i] + 1, 0
            continue
        u = rng.random()
        if u < intraday and hour < 23:
            hour += 1
            rounds.append(Round(i, "intraday", day, hour))
        elif u < intraday + root:
            rounds.append(Round(i, "root", day))
        else:
            rounds.append(Round(i, "quiet", day))
    busy = [r.index for r in rounds if r.kind != "quiet"]
    chosen = sorted(rng.sample(busy, min(kills, len(busy))))
    if kills > len(busy):
        rest = [r.index for r in rounds if r.kind == "quiet"]
        chosen = sorted(chosen + rng.sample(rest, kills - len(busy)))
    for i in chosen:
        r = rounds[i]
        n = sum(expected_submissions(r, n_groups, n_parts).values())
        kill = Kill("after-send", rng.randint(1, n)) if n and rng.random() < 0.5 else \
            Kill("delay", round(rng.uniform(0.0, max_delay), 2))
        rounds[i] = replace(r, kill=kill)
    return rounds


@dataclass
class RunResult:
    rounds: list[Round]
    round_blocks: dict[int, int]
    kills: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    starts: int = 0


def outcome(world, res: RunResult, n_groups: int = 2, n_parts: int = 2) -> dict:
    """Landed and reverted keeper transactions per ``(kind, group, round)`` against the
    schedule's expectation (module docstring)."""
    w3, reg = world.w3, world.reg
    first = res.round_blocks[0] - 1
    starts = sorted((b, i) for i, b in res.round_blocks.items())
    expected, landed, reverted = Counter(), Counter(), Counter()
    for r in res.rounds:
        for (kind, g), n in expected_submissions(r, n_groups, n_parts).items():
            expected[(kind, g, r.index)] += n
    other = 0
    for n in range(first, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(n, full_transactions=True).transactions:
            if tx["from"] != reg.keeper or tx["to"] != reg.address:
                continue
            fn, args = reg.contract.decode_function_input(tx["input"])
            kind = KINDS.get(fn.fn_name)
            if kind is None:
                other += 1
                continue
            group = {"margin": args.get("group"), "option": args.get("part")}.get(kind)
            rnd = max((i for b, i in starts if b <= n), default=0)
            ok = w3.eth.get_transaction_receipt(tx["hash"]).status == 1
            (landed if ok else reverted)[(kind, None if group is None else int(group), rnd)] += 1
    lost = expected - landed
    dup = landed - expected
    def keys(c: Counter) -> list[str]:
        return sorted(f"{k}:{'-' if g is None else g}@round{r}" for k, g, r in c.elements())
    return {"expected": sum(expected.values()), "landed": sum(landed.values()),
            "reverted": sum(reverted.values()), "other_keeper_txs": other,
            "lost": keys(lost), "duplicated": keys(dup), "reverted_keys": keys(reverted),
            "exact": not lost and not dup and not reverted and not other}
