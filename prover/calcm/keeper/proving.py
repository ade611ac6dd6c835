"""The keeper's narrow proving interface for the v2 proofs (docs/PROVING.md section 6).

A :class:`Provers` takes the fixed-point inputs of one proof and returns the proof with its
public signals, in the registry's order, plus the outputs the registry stores:

- ``prove_step(state, close_prices, context)``: the daily GARCH step from ``state``
  (``ModelStateFx``: day, sigma2, close) to the close ``close_prices`` (PRICE_SCALE, asset
  order) and the linear revaluation at it; public ``[prevState, newState, linCommitment,
  paramHash, context, packedPrices...]``; returns ``new_state`` (the next ``ModelStateFx``)
  and ``outputs = {"new_state": commitment, "lin": linCommitment}``;
- ``prove_reval(state, prices, context)``: public ``[state, linCommitment, paramHash,
  context, packedPrices...]``; ``outputs = {"lin": ...}``;
- ``prove_option_part(state, prices, part, prev_sponge)``: public ``[state, prevOptSponge,
  nextOptSponge, paramHash, part, packedPrices...]``; ``outputs = {"next_sponge": ...}``;
- ``prove_margin_batch(model, accounts, group, context)``: public ``[accountsRoot,
  linCommitment, optCommitment, context, packedResult]``; ``outputs = {"packed": ...}``.

Status: the v2 circuits are being written (circuits/model/model_step.circom,
model_reval.circom, option_part.circom; the v2 margin batch). :class:`PendingProvers` is
the default and raises :class:`ProverPending` naming the missing piece; the integrator
plugs the real circuits in behind this interface. :class:`PlaceholderProvers` proves with
the PLACEHOLDER circuits of :mod:`calcm.chain.placeholder` (same signal counts, nothing
proven about the model: registry and keeper tests only) and derives the "commitments" by a
stand-in hash of the inputs.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..chain import encoding, placeholder
from ..fixedpoint import FIELD_PRIME


@dataclass(frozen=True)
class ProofOut:
    """One proof: snarkjs ``proof.json`` dict, its public signals, what the registry stores,
    and (steps) the next fixed-point state."""

    proof: dict
    public: list[int]
    outputs: dict = field(default_factory=dict)
    new_state: Any = None


class ProverPending(NotImplementedError):
    """The v2 circuit behind this proof is not wired in yet."""


class Provers(Protocol):
    def prove_step(self, state, close_prices, context: int) -> ProofOut: ...
    def prove_reval(self, state, prices, context: int) -> ProofOut: ...
    def prove_option_part(self, state, prices, part: int, prev_sponge: int) -> ProofOut: ...
    def prove_margin_batch(self, model, accounts, group: int, context: int) -> ProofOut: ...


class PendingProvers:
    """Raises :class:`ProverPending` for every proof (the v2 circuits are not wired yet)."""

    def _pending(self, what: str):
        raise ProverPending(f"{what}: the v2 circuit is not wired into the keeper yet "
                            "(calcm.keeper.proving; docs/PROVING.md section 6)")

    def prove_step(self, state, close_prices, context):
        self._pending("ModelStep")

    def prove_reval(self, state, prices, context):
        self._pending("ModelReval")

    def prove_option_part(self, state, prices, part, prev_sponge):
        self._pending("OptionPart")

    def prove_margin_batch(self, model, accounts, group, context):
        self._pending("MarginBatch v2")


def stand_in_hash(*xs) -> int:
    """A field element from ``xs`` (sha256; NOT a model commitment: placeholder tests only)."""
    return int.from_bytes(hashlib.sha256(repr(xs).encode()).digest(), "big") % FIELD_PRIME or 1


@dataclass
class StandInState:
    """The placeholder's model state: UTC day and close, committed by :func:`stand_in_hash`."""

    day: int
    prices: tuple[int, ...]

    @property
    def commitment(self) -> int:
        return stand_in_hash("state", self.day, self.prices)


class PlaceholderProvers:
    """Proves with PLACEHOLDER circuits (``builds``: kind -> PlaceholderBuild for "step",
    "reval", "option", "margin"). Registry and keeper tests only."""

    def __init__(self, builds: dict, param_hash: int):
        self.builds, self.param_hash = builds, param_hash

    def _prove(self, kind, signals, outputs, new_state=None) -> ProofOut:
        proof, public = placeholder.prove(self.builds[kind], signals)
        return ProofOut(proof, public, outputs, new_state)

    def prove_step(self, state: StandInState, close_prices, context):
        nxt = StandInState(state.day + 1, tuple(close_prices))
        lin = stand_in_hash("lin", nxt.commitment, tuple(close_prices))
        sig = ([state.commitment, nxt.commitment, lin, self.param_hash, context]
               + encoding.pack_prices(list(close_prices)))
        return self._prove("step", sig, {"new_state": nxt.commitment, "lin": lin}, nxt)

    def prove_reval(self, state: StandInState, prices, context):
        lin = stand_in_hash("lin", state.commitment, tuple(prices))
        sig = ([state.commitment, lin, self.param_hash, context]
               + encoding.pack_prices(list(prices)))
        return self._prove("reval", sig, {"lin": lin})

    def prove_option_part(self, state: StandInState, prices, part, prev_sponge):
        nxt = stand_in_hash("opt", prev_sponge, part)
        sig = ([state.commitment, prev_sponge, nxt, self.param_hash, part]
               + encoding.pack_prices(list(prices)))
        return self._prove("option", sig, {"next_sponge": nxt})

    def prove_margin_batch(self, model, accounts, group, context):
        """``model``: ``(root, lin, opt)``; ``accounts``: the group's tiers."""
        root, lin, opt = model
        packed = encoding.pack_result(group, list(accounts))
        return self._prove("margin", [root, lin, opt, context, packed], {"packed": packed})
