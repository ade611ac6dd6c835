"""Set up and prove model updates with the shared Groth16 pipeline (``calcm.zk.setup``).

A model file (``state.json``) carries the chained state and the parameters::

    {"kind": "calcm-model-state", "state": {"step", "sigma2", "price"},
     "state_commitment", "params": {...}, "param_hash", "assets", "block"?}

:func:`prove_update` proves one block into an output directory::

    proof.json  public.json  verification_key.json   (what `calcm verify DIR` checks)
    state.json        the new model file (the next block's --state)
    model.json        the MarginModelFx (P&L matrix, marks, exposures, ...) and its commitment
    update.json       named public signals, context inputs, build hashes, timings

The directory is assembled beside its target and renamed into place, so bad
input leaves no partial output. The witness is checked against the Python
reference before proving (:mod:`calcm.zk.model_witness`).
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
from ..risk.fixed_margin import MarginModelFx
from ..risk.model_fx import ModelParamsFx, ModelStateFx, encode_prices
from .model_circuit import ModelCircuitConfig, check_tables
from .model_witness import ModelExpected, check_config, compute_checked_witness, model_input
from .prove import ContextInfo, _fresh_tmp, _publish
from .setup import Build, build_cache_dir, setup
from .toolchain import snarkjs
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


def load_prices(path: str | Path, params: ModelParamsFx) -> tuple[tuple[int, ...], dict]:
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
                *, reuse: bool = True) -> tuple[Build, bool]:
    """Compile and set up ``config`` (cached by source hash unless ``build_dir`` is given)."""
    check_tables()
    return setup(config, build_dir or build_cache_dir(config), ptau_file, reuse=reuse)


def model_to_json(model: MarginModelFx) -> dict:
    return {"pnl": [list(r) for r in model.pnl], "mark": list(model.mark),
            "exposure": [list(r) for r in model.exposure], "collateral_price": list(model.collateral_price),
            "haircut_bps": list(model.haircut_bps), "adv": list(model.adv),
            "liquidity_weight_bps": list(model.liquidity_weight_bps), "k_tail": model.k_tail,
            "im_buffer_bps": model.im_buffer_bps, "warn_buffer_bps": model.warn_buffer_bps}


def model_from_json(d: dict) -> MarginModelFx:
    t = lambda xs: tuple(int(v) for v in xs)  # noqa: E731
    return MarginModelFx(tuple(t(r) for r in d["pnl"]), t(d["mark"]), tuple(t(r) for r in d["exposure"]),
                         t(d["collateral_price"]), t(d["haircut_bps"]), t(d["adv"]),
                         t(d["liquidity_weight_bps"]), int(d["k_tail"]), int(d["im_buffer_bps"]),
                         int(d["warn_buffer_bps"]))


@dataclass(frozen=True)
class UpdateProof:
    dir: Path
    expected: ModelExpected
    witness_seconds: float
    prove_seconds: float


def _prove_into(build: Build, inp: dict, expected: ModelExpected, params: ModelParamsFx,
                work: Path) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix=".wtns.", dir=work) as tmp:
        wtns = Path(tmp) / "witness.wtns"
        t0 = time.perf_counter()
        compute_checked_witness(build.wasm, build.sym, inp, expected, params, wtns)
        t1 = time.perf_counter()
        snarkjs("groth16", "prove", build.zkey, wtns, work / "proof.json", work / "public.json")
        t2 = time.perf_counter()
    public = tuple(int(x) for x in json.loads((work / "public.json").read_text()))
    if public != expected.public:
        raise WitnessMismatch(f"snarkjs public signals {list(public)} != reference {list(expected.public)}")
    return t1 - t0, t2 - t1


def prove_update(build: Build, mf: ModelFile, prices, out_dir: Path,
                 ctx: ContextInfo = ContextInfo()) -> UpdateProof:
    """Prove one block from ``mf`` at ``prices`` (PRICE ints, asset order) into ``out_dir``."""
    config = build_config(build)
    check_config(config, mf.params)
    inp, expected = model_input(config, mf.state, prices, mf.params, ctx.value)  # validates first
    out_dir = Path(out_dir)
    tmp = _fresh_tmp(out_dir)
    try:
        w_s, p_s = _prove_into(build, inp, expected, mf.params, tmp)
        shutil.copyfile(build.vkey_path, tmp / "verification_key.json")
        up = expected.update
        nxt = ModelFile(up.state, mf.params, {"block": ctx.block})
        atomic.write_json(tmp / "state.json", nxt.to_json())
        atomic.write_json(tmp / "model.json", {"kind": "calcm-margin-model", "assets": list(mf.params.assets),
                                               "instruments": [i.id for i in mf.params.instruments],
                                               "collateral": [c.asset for c in mf.params.collateral],
                                               "scenario_commitment": str(expected.public[2]),
                                               "model": model_to_json(up.model)})
        atomic.write_json(tmp / "update.json", {
            "kind": UPDATE_KIND,
            "config": build.manifest["config"],
            "build": {"dir": str(build.dir), "manifest_sha256": build.manifest_hash,
                      "source_hash": build.manifest["source_hash"],
                      "zkey_sha256": build.manifest["zkey"]["sha256"],
                      "vkey_sha256": build.manifest["vkey_sha256"], "dev_only": build.manifest["dev_only"]},
            "public_signals": {k: str(v) for k, v in expected.public_dict().items()},
            "public_order": list(expected.names),
            "context": ctx.to_json(),
            "step": up.state.step,
            "prices": list(prices),
            "seconds": {"witness": round(w_s, 3), "prove": round(p_s, 3)},
        })
        _publish(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return UpdateProof(out_dir, expected, w_s, p_s)


def build_config(build: Build) -> ModelCircuitConfig:
    """The :class:`ModelCircuitConfig` a model build was made from (its manifest)."""
    c = build.manifest["config"]
    if "struct_id" not in c:
        raise InputError(str(build.dir), "-", "manifest.json", "not a model-update build")
    return ModelCircuitConfig(c["name"], c["U"], c["S"], c["n"], c["m"], c["k"], tuple(c["kinds"]),
                              tuple(c["under"]), tuple(c["coll"]), int(c["struct_id"]))
