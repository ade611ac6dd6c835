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

Implementations:

- :class:`CircuitProvers`: the real circuits. The model proofs go through
  :func:`calcm.zk.model_prove.prove_model` (``ModelStep``, ``ModelReval``, ``OptionPart``),
  the margin batch through :func:`calcm.zk.prove.write_batch` (``MarginBatch`` v2); both
  check the witness against the Python reference, then prove with :mod:`calcm.zk.backend`
  (arkworks when groth16py imports). The builds are made once by :func:`setup_builds`
  (:class:`CircuitBuilds`), cached by source hash under ``~/.cache/calcm/builds``; a shape
  above the local power-13 powers of tau gets groth16py's single-party dev setup, labelled
  ``insecure-dev-single-party`` in its manifest (:attr:`CircuitBuilds.security`). A
  ``CircuitProvers`` holds only paths and parameters, so the keeper's dask pool ships it to
  its workers (:func:`calcm.keeper.prover_pool.prove_task`); each worker process loads a
  build (and arkworks its proving key) once.
- :class:`PlaceholderProvers` proves with the PLACEHOLDER circuits of
  :mod:`calcm.chain.placeholder` (same signal counts, nothing proven about the model:
  registry tests only) and derives the "commitments" by a stand-in hash of the inputs.
- :class:`PendingProvers` raises :class:`ProverPending` (a keeper without builds).
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

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


# ---------------------------------------------------------------------- the real circuits


@dataclass(frozen=True)
class CircuitBuilds:
    """Build directories of the four v2 circuits of one published model (``option`` None
    without options), made by :func:`setup_builds`."""

    step: str
    reval: str
    option: str | None
    margin: str

    def dirs(self) -> dict[str, str | None]:
        return {"step": self.step, "reval": self.reval, "option": self.option, "margin": self.margin}

    def load(self, kind: str):
        return _load_build(getattr(self, kind))

    def security(self) -> dict[str, str]:
        """``kind -> manifest security`` (``insecure-dev-single-party`` for a dev setup)."""
        return {k: _load_build(d).security for k, d in self.dirs().items() if d}

    def constraints(self) -> dict[str, int]:
        return {k: _load_build(d).constraints for k, d in self.dirs().items() if d}


_BUILDS: dict[str, Any] = {}


def _load_build(d: str):
    """A build, loaded once per process (workers reuse it across proofs)."""
    from ..zk.setup import Build
    if d not in _BUILDS:
        _BUILDS[d] = Build.load(d)
    return _BUILDS[d]


def margin_circuit(model, n_accounts: int, group_size: int):
    """The margin-batch circuit of ``model``'s exact structure with groups of ``group_size``
    and the venue's accounts tree: depth ``DEFAULT_D`` (the one ``calcm prove`` and
    ``calcm bench book`` use, so their builds are shared), deeper only for a larger book."""
    from ..zk.config import DEFAULT_D, config_for_model
    depth = max(DEFAULT_D, (max(n_accounts, 1) - 1).bit_length())
    return config_for_model(model, group_size, depth)


def _margin_setup(config):
    """Compile and set up a margin circuit in the build cache (dev setup above power 13)."""
    from ..zk.setup import build_cache_dir, cached_compile, default_mode, setup
    _, info = cached_compile(config)
    mode = default_mode(info["min_ptau_power"])
    d = build_cache_dir(config)
    if mode == "dev":
        d = d.with_name(d.name + "-dev")
    build, _ = setup(config, d, mode=mode)
    return build


def setup_builds(params, model, n_accounts: int, group_size: int,
                 progress: Callable[[str, str], None] | None = None) -> CircuitBuilds:
    """Compile and set up (or load from the cache) the step, revaluation, option-part and
    margin-batch circuits of the published ``params`` (``model``: one of its
    :class:`~calcm.risk.fixed_margin.MarginModelFx`, for the margin circuit's structure).

    ``progress(kind, phase)`` is called with phase ``start`` and ``done`` around each build.
    """
    from ..zk.model_circuit import ModelCircuitConfig
    from ..zk.model_prove import model_build
    say = progress or (lambda kind, phase: None)
    dirs = {}
    for kind in ("step", "reval", "option"):
        if kind == "option" and params.n_options == 0:
            dirs[kind] = None
            continue
        say(kind, "start")
        build, _ = model_build(ModelCircuitConfig.from_params(params, kind=kind))
        dirs[kind] = str(build.dir)
        say(kind, "done")
    say("margin", "start")
    dirs["margin"] = str(_margin_setup(margin_circuit(model, n_accounts, group_size)).dir)
    say("margin", "done")
    return CircuitBuilds(**dirs)


@dataclass(frozen=True)
class _Context:
    """A context public input as :mod:`calcm.zk.prove` and :mod:`calcm.zk.model_prove`
    take it (``value``; ``block`` unknown here: the keeper records it beside the proof)."""

    value: int
    block: int | None = None

    def to_json(self) -> dict:
        return {"context": str(self.value), "block": self.block}


def _read_proof(d: Path) -> tuple[dict, list[int]]:
    return (json.loads((d / "proof.json").read_text()),
            [int(x) for x in json.loads((d / "public.json").read_text())])


class CircuitProvers:
    """:class:`Provers` on the real v2 circuits (module docstring).

    ``params``: the published :class:`~calcm.risk.modelfx.ModelParamsFx`; ``builds``: its
    :class:`CircuitBuilds`; ``backend``: ``auto`` (arkworks when available), ``arkworks``
    or ``snarkjs`` (a dev-setup build proves with arkworks only).
    """

    def __init__(self, params, builds: CircuitBuilds, backend: str = "auto"):
        self.params, self.builds, self.backend = params, builds, backend

    @property
    def margin_config(self):
        return self.builds.load("margin").config

    def _model_proof(self, kind: str, state, prices, ctx: int = 0, part: int = 0,
                     prev: int = 0):
        from ..zk.model_prove import ModelFile, prove_model
        build = self.builds.load(kind)
        with tempfile.TemporaryDirectory(prefix=f"calcm-keeper-{kind}-") as tmp:
            up = prove_model(build, ModelFile(state, self.params, {}), tuple(prices),
                             Path(tmp) / "proof", _Context(ctx), part=part, prev=prev,
                             backend=self.backend)
            proof, public = _read_proof(up.dir)
        return up, proof, public

    def prove_step(self, state, close_prices, context: int) -> ProofOut:
        up, proof, public = self._model_proof("step", state, close_prices, context)
        new_state = up.expected.result.state
        return ProofOut(proof, public, {"new_state": public[1], "lin": public[2],
                                        "seconds": up.witness_seconds + up.prove_seconds},
                        new_state)

    def prove_reval(self, state, prices, context: int) -> ProofOut:
        up, proof, public = self._model_proof("reval", state, prices, context)
        return ProofOut(proof, public, {"lin": public[1],
                                        "seconds": up.witness_seconds + up.prove_seconds})

    def prove_option_part(self, state, prices, part: int, prev_sponge: int) -> ProofOut:
        up, proof, public = self._model_proof("option", state, prices, part=part, prev=prev_sponge)
        return ProofOut(proof, public, {"next_sponge": public[2],
                                        "seconds": up.witness_seconds + up.prove_seconds})

    def prove_margin_batch(self, model, accounts, group: int, context: int,
                           names=None) -> ProofOut:
        """``model``: the version's MarginModelFx; ``accounts``: every account in leaf order
        (the accounts tree is built from them); ``names``: their ids (error messages)."""
        from ..zk.prove import write_batch
        from ..zk.witness import group_accounts
        build = self.builds.load("margin")
        cfg = build.config
        tree = _tree(tuple(accounts), cfg)
        members = group_accounts(list(accounts), group, cfg)
        names = list(names or [])
        labels = [names[a] if a < len(names) else None
                  for a in range(group * cfg.N, (group + 1) * cfg.N)]
        with tempfile.TemporaryDirectory(prefix="calcm-keeper-batch-") as tmp:
            bp = write_batch(build, model, members, group, tree, _Context(context),
                             Path(tmp) / "batch", labels)
            proof, public = _read_proof(bp.dir)
        return ProofOut(proof, public, {"packed": public[4], "tiers": list(bp.expected.tiers),
                                        "seconds": bp.witness_seconds + bp.prove_seconds})


_TREES: dict = {}


def _tree(accounts: tuple, cfg):
    """The accounts tree of ``accounts`` (cached per process for the last few books)."""
    from ..zk.witness import venue_tree
    key = (hash(accounts), cfg.N, cfg.D)
    if key not in _TREES:
        if len(_TREES) > 8:
            _TREES.clear()
        _TREES[key] = venue_tree(list(accounts), cfg)
    return _TREES[key]
