"""The keeper's model clock: one GARCH step per UTC day, intraday revaluations in between.

Time semantics (docs/PROVING.md section 5, docs/KEEPER.md "Model time"):

- the registry's state holds the close of UTC day ``D`` (``registry.day()``);
- the step to ``D + 1`` takes the close of ``D + 1``: per feed, the first round dated at or
  after 00:00 UTC of ``D + 2`` (:meth:`calcm.keeper.feed.FeedReader.close_rounds`). It is due
  once the head block's timestamp reaches that instant and every feed has such a round;
- missed days are stepped in order, each from its own close, never skipped and never from
  later (stale or fresher) prices: the plan lists every due step, oldest first, and stops at
  the first day whose close is not on every feed yet, or whose first round after midnight
  is dated a later day (a feed with no round that day: waiting, with the reason; e.g. a model
  file whose genesis day lies long before the chain's clock);
- everything else (a freshness refresh, new intraday prices) is an intraday revaluation
  at the latest answers with the current state: it never touches the GARCH state;
- a step the registry would refuse is refused here first: :meth:`ModelClock.submit_step`
  checks that the close is of day ``D + 1`` (else one log line ``step refused: ...`` and no
  transaction), then asks the registry by ``eth_call``; only then is it sent.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..chain.encoding import DAY, utc_date
from ..chain.registry import Registry, RegistryRevert
from .feed import DailyClose, FeedReader
from .proving import ProofOut, Provers


@dataclass(frozen=True)
class ModelPlan:
    """What the model needs at one head: the due steps (oldest first), whether a step is due
    but waits for a feed (``waiting``: the reason), and whether a revaluation may run."""

    day: int
    steps: tuple[DailyClose, ...]
    waiting: str | None
    stalled: bool = False   # every feed is past the boundary but a close is a later day's:
                            # the registry refuses revaluations (StepDue) until governance acts

    @property
    def reval_allowed(self) -> bool:
        """A revaluation uses the current state: only when no step is due."""
        return not self.steps and self.waiting is None


def plan(day: int, head_ts: int, reader: FeedReader, block) -> ModelPlan:
    """The steps due at a head dated ``head_ts`` for a registry at ``day`` (see module doc)."""
    steps, d = [], day + 1
    waiting = None
    while head_ts >= DAY * (d + 1):
        close = reader.close_rounds(d, block)
        if close is None:
            waiting = f"day {d}'s close is not on every feed yet"
            break
        late = [r for r in close.rounds if r.updated_at >= DAY * (d + 2)]
        if late:  # no round on day d + 1: its first after midnight is a later day's price
            waiting = (f"day {d}'s close: {late[0].asset} has no round on {utc_date(d + 1)} (the first "
                       f"after its midnight is dated {utc_date(late[0].updated_at // DAY)}); "
                       f"never stepped from a later price")
            return ModelPlan(day, tuple(steps), waiting, stalled=True)
        steps.append(close)
        d += 1
    return ModelPlan(day, tuple(steps), waiting)


class ModelClock:
    """Drives the registry's model with a :class:`~calcm.keeper.proving.Provers`.

    ``log(kind, **fields)``: the keeper's event log (one line per call)."""

    def __init__(self, reg: Registry, reader: FeedReader, provers: Provers, log=None):
        self.reg, self.reader, self.provers = reg, reader, provers
        self.log = log or (lambda kind, **kw: None)

    def submit_step(self, state, close: DailyClose, block: int) -> ProofOut | None:
        """Prove and send the step to ``close`` from ``state``; None (and one log line, no
        transaction) when the registry would refuse it."""
        day = self.reg.f.day().call()
        if close.day != day + 1:
            self.log("skip", reason=f"step refused: no new daily round (registry at day {day}, "
                                    f"close of day {close.day})")
            return None
        out = self.provers.prove_step(state, close.prices, self.reg.context(block))
        args = (out.proof, block, list(close.round_ids), out.outputs["new_state"],
                out.outputs["lin"])
        try:
            self.reg.check_model_step(*args)
        except RegistryRevert as exc:
            self.log("skip", reason=f"step refused by the registry's eth_call: {exc}")
            return None
        receipt = self.reg.submit_model_step(*args)
        self.log("submission", proof="step", day=close.day, rounds=list(close.round_ids),
                 gas=receipt.gasUsed)
        return out

    def catch_up(self, state, block: int, head_ts: int):
        """Step every due day in order; returns ``(state, plan)`` with the last state reached."""
        p = plan(self.reg.f.day().call(), head_ts, self.reader, block)
        for close in p.steps:
            out = self.submit_step(state, close, block)
            if out is None:
                break
            state = out.new_state
        if p.waiting:
            self.log("skip", reason=f"model step waits: {p.waiting}")
        return state, p

    def refresh(self, state, block: int, timestamp: int) -> ProofOut | None:
        """An intraday revaluation at the latest fresh answers (state unchanged); None when a
        step is due (the registry would answer StepDue)."""
        p = plan(self.reg.f.day().call(), timestamp, self.reader, block)
        if not p.reval_allowed:
            self.log("skip", reason="revaluation refused: a daily step is due first")
            return None
        snap = self.reader.read(block, timestamp)
        out = self.provers.prove_reval(state, snap.prices, self.reg.context(block))
        receipt = self.reg.submit_model_reval(out.proof, block, out.outputs["lin"])
        self.log("submission", proof="reval", rounds=list(snap.round_ids), gas=receipt.gasUsed)
        return out
