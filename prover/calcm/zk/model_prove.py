"""Set up and prove the model circuits (``ModelStep``, ``ModelReval``, ``OptionPart``).

A model file (``state.json``) carries the chained state and the parameters::

    {"kind": "calcm-model-state", "state": {"day", "sigma2", "price"},
     "state_commitment", "params": {...}, "param_hash", "assets", "block"?}

:func:`model_build` compiles and sets up one circuit (cached by source hash);
:func:`prove_model` proves one step, revaluation or option part into a directory::

    proof.json  public.json  verification_key.json   (what `calcm verify DIR` checks)
    update.json       circuit, named public signals, context, build hashes, backend, timings
    state.json        daily step only: the new model file (the next step's --state)

The directory is assembled beside its target and renamed into place, so bad
input leaves no partial output. The witness is checked against the Python
reference before proving (:mod:`calcm.zk.model_witness`); the proof comes from
:mod:`calcm.zk.backend`.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .. import atomic
from ..errors import InputError, read_json_file
from ..fixedpoint import FixedPointRangeError
from ..risk.modelfx import ModelParamsFx, ModelStateFx, encode_prices
from .model_circuit import ModelCircuitConfig, check_tables
from .model_witness import (ModelExpected, check_config, compute_checked_witness, part_input,
                            reval_input, step_input)
from .prove import ContextInfo, _fresh_tmp, _publish
from .setup import Build, build_cache_dir, cached_compile, default_mode, setup
from .witness import WitnessMismatch

STATE_KIND = "calcm-model-state"
UPDATE_KIND = "calcm-model-update"


@dataclass(frozen=True)
class ModelFile:
    """A parsed model file: the state and the parameters it is chained under."""

    state: ModelStateFx
    params: ModelParamsFx
    extra: dict

    def to_json(self) -> dict:
        return {"kind": STATE_KIND, "assets": list(self.params.assets), "state": self.state.to_json(),
                "state_commitment": str(self.state.commitment()), "params": self.params.to_json(),
                "param_hash": str(self.params.param_hash()), **self.extra}


def load_model_file(path: str | Path) -> ModelFile:
    """Read and validate a model file; bad content raises :class:`InputError` (file, record, field)."""
    path = Path(path)
    obj = read_json_file(path)
    if not isinstance(obj, dict) or obj.get("kind") != STATE_KIND:
        raise InputError(str(path), "-", "kind", f"not a model file (expected kind {STATE_KIND!r})")
    try:
        params = ModelParamsFx.from_json(obj["params"])
    except FixedPointRangeError as exc:
        raise InputError(str(path), "params", exc.what, str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(str(path), "params", getattr(exc, "args", ["-"])[0] if isinstance(exc, KeyError)
                         else "-", f"invalid parameters: {exc}") from None
    try:
        state = ModelStateFx.from_json(obj["state"])
    except FixedPointRangeError as exc:
        raise InputError(str(path), "state", exc.what, str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(str(path), "state", "-", f"invalid state: {exc}") from None
    if len(state.price) != params.n_assets:
        raise InputError(str(path), "state", "price", f"{len(state.price)} prices for {params.n_assets} assets")
    for key, want in (("state_commitment", state.commitment()), ("param_hash", params.param_hash())):
        if key in obj and str(obj[key]) != str(want):
            raise InputError(str(path), "-", key, f"does not match the file's content (recomputed {want})")
    extra = {k: v for k, v in obj.items() if k in ("block", "asof", "source")}
    return ModelFile(state, params, extra)


def read_price_file(path: str | Path, params: ModelParamsFx) -> tuple[tuple[int, ...], dict]:
    """A prices file: ``{"prices": {"BTC": 29000.5, ...}}`` (USD) or ``{"prices_fx": [...]}``.

    Optional ``block``, ``chain_id``, ``registry`` (the proof's context). Returns the
    PRICE integers in asset order and those extras.
    """
    path = Path(path)
    obj = read_json_file(path)
    if not isinstance(obj, dict):
        raise InputError(str(path), "-", "-", "top level must be an object")
    extra = {k: obj[k] for k in ("block", "chain_id", "registry") if k in obj}
    if "prices_fx" in obj:
        raw = obj["prices_fx"]
        if not isinstance(raw, list) or len(raw) != params.n_assets:
            raise InputError(str(path), "-", "prices_fx", f"need a list of {params.n_assets} integers")
        out = []
        for a, v in zip(params.assets, raw):
            if isinstance(v, bool) or not isinstance(v, int):
                raise InputError(str(path), f"asset {a}", "prices_fx", f"not an integer: {v!r}")
            if not 1 <= v < 2**48:
                raise InputError(str(path), f"asset {a}", "prices_fx", f"{v} outside [1, 2**48)")
            out.append(v)
        return tuple(out), extra
    prices = obj.get("prices")
    if not isinstance(prices, dict):
        raise InputError(str(path), "-", "prices", "missing or not an object of USD prices by asset")
    for a in params.assets:
        v = prices.get(a)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(str(path), f"asset {a}", "prices", f"missing or not a number: {v!r}")
        if not v > 0:
            raise InputError(str(path), f"asset {a}", "prices", f"must be > 0, got {v!r}")
    try:
        return encode_prices(params, prices, "price"), extra
    except FixedPointRangeError as exc:
        raise InputError(str(path), exc.what, "prices", str(exc)) from None


def model_build(config: ModelCircuitConfig, build_dir: Path | None = None, ptau_file: Path | None = None,
                *, mode: str = "auto", reuse: bool = True) -> tuple[Build, bool]:
    """Compile and set up ``config`` (cached by source hash unless ``build_dir`` is given).

    ``mode`` as :func:`calcm.zk.setup.setup`: ``auto`` is a snarkjs ceremony-path build
    when the circuit fits the local dev ptau (power <= 13), else groth16py's
    single-party dev setup (INSECURE-DEV, arkworks proving only). A cached dev build lives
    in its own directory (``...-dev``), so a ceremony-path and a dev build of the same
    circuit never replace each other. Returns ``(build, reused)``.
    """
    check_tables()
    if build_dir is None:
        build_dir = build_cache_dir(config)
        if mode == "auto":
            _, info = cached_compile(config)
            mode = default_mode(info["min_ptau_power"], ptau_file)
        if mode == "dev":
            build_dir = build_dir.with_name(build_dir.name + "-dev")
    return setup(config, build_dir, ptau_file, mode=mode, reuse=reuse)


@dataclass(frozen=True)
class UpdateProof:
    dir: Path
    expected: ModelExpected
    witness_seconds: float
    prove_seconds: float
    backend: str = "-"


def _prove_into(build: Build, inp: dict, expected: ModelExpected, kind: str, work: Path,
                backend: str = "auto") -> tuple[float, float, str]:
    """Witness (checked against the reference) and proof (:func:`calcm.zk.backend.prove`) into ``work``.

    Returns ``(witness seconds, prove seconds, backend name)``.
    """
    from .artifacts import write as write_proof_files
    from .backend import prove as prove_with_backend
    with tempfile.TemporaryDirectory(prefix=".wtns.", dir=work) as tmp:
        wtns = Path(tmp) / "witness.wtns"
        t0 = time.perf_counter()
        compute_checked_witness(build.wasm, build.sym, inp, expected, kind, wtns)
        t1 = time.perf_counter()
        proof, public_str, used = prove_with_backend(build, wtns, backend)
        t2 = time.perf_counter()
    public = tuple(int(x) for x in public_str)
    if public != expected.public:
        raise WitnessMismatch(f"{used} public signals {list(public)} != reference {list(expected.public)}")
    write_proof_files(work, proof, public)
    return t1 - t0, t2 - t1, used


def prove_model(build: Build, mf: ModelFile, prices, out_dir: Path, ctx: ContextInfo = ContextInfo(),
                part: int = 0, prev: int = 0, backend: str = "auto") -> UpdateProof:
    """Prove one model circuit (the build's kind: step, reval or option part) into ``out_dir``.

    - ``step`` (``ModelStep``): the daily step from ``mf.state`` to the closes ``prices``;
    - ``reval`` (``ModelReval``): the intraday linear revaluation of ``mf.state`` at ``prices``;
    - ``option`` (``OptionPart``): part ``part = o C + c`` at ``(mf.state, prices)`` from
      the option sponge state ``prev`` (0 for the first part; then the previous part's
      ``expected.public_dict()["nextOptSponge"]``).

    ``prices`` are PRICE integers in asset order; ``ctx.value`` is the context public
    input (step, reval). The witness is checked against the Python reference first
    (:mod:`calcm.zk.model_witness`), then proven by ``backend`` (:mod:`calcm.zk.backend`:
    ``auto``, ``arkworks`` or ``snarkjs``; a dev build needs arkworks).

    Writes proof.json, public.json, verification_key.json, update.json (named public
    signals, build hashes, timings) and, for a daily step, state.json (the next model file).
    Bad input leaves no output directory.
    """
    config = build_config(build)
    check_config(config, mf.params)
    if config.kind == "step":
        inp, expected = step_input(config, mf.state, prices, mf.params, ctx.value)   # validates first
    elif config.kind == "reval":
        inp, expected = reval_input(config, mf.state, prices, mf.params, ctx.value)
    else:
        inp, expected = part_input(config, mf.state, prices, mf.params, part, prev)
    out_dir = Path(out_dir)
    tmp = _fresh_tmp(out_dir)
    try:
        w_s, p_s, used = _prove_into(build, inp, expected, config.kind, tmp, backend)
        shutil.copyfile(build.vkey_path, tmp / "verification_key.json")
        if config.kind == "step":
            atomic.write_json(tmp / "state.json", ModelFile(expected.result.state, mf.params,
                                                            {"block": ctx.block}).to_json())
        atomic.write_json(tmp / "update.json", {
            "kind": UPDATE_KIND, "circuit": config.kind,
            "config": build.manifest["config"],
            "build": {"dir": str(build.dir), "manifest_sha256": build.manifest_hash,
                      "source_hash": build.manifest["source_hash"],
                      "zkey_sha256": build.manifest["zkey"]["sha256"],
                      "vkey_sha256": build.manifest["vkey_sha256"], "dev_only": build.manifest["dev_only"]},
            "public_signals": {k: str(v) for k, v in expected.public_dict().items()},
            "public_order": list(expected.names),
            "context": ctx.to_json(),
            "day": mf.state.day,
            "prices": list(prices),
            "part": part if config.kind == "option" else None,
            "backend": used,
            "seconds": {"witness": round(w_s, 3), "prove": round(p_s, 3)},
        })
        _publish(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return UpdateProof(out_dir, expected, w_s, p_s, used)


def build_config(build: Build) -> ModelCircuitConfig:
    """The :class:`ModelCircuitConfig` a model build was made from (its manifest)."""
    c = build.manifest["config"]
    if "struct_id" not in c:
        raise InputError(str(build.dir), "-", "manifest.json", "not a model-update build")
    return ModelCircuitConfig(c["name"], c["U"], c["S"], c["n"], c["m"], c["k"], tuple(c["kinds"]),
                              tuple(c["under"]), tuple(c["coll"]), int(c["struct_id"]), int(c.get("C", 1)),
                              c.get("kind", "step"))
