"""Model export: the public files of a published model, and a context loaded back from them.

Public functions::

    prepare_out(out: Path) -> None                                     InputError naming --out
    export_model(ctx: TraderContext, out: Path, origin: dict | None = None) -> ExportResult
    load_export(model_dir: Path, book: Book) -> TraderContext        (commitments re-checked)
    compare_commitments(ctx, recorded: dict, where: str) -> list[str]  mismatching names

An export directory (written to a temp directory beside ``out`` and renamed into place,
so a failure leaves no partial export)::

    manifest.json     kind, asof, origin (published / block N of a registry / a proof dir),
                      the book's instrument ids and collateral assets, sha256 of each file
    params.json       ModelParamsFx (GARCH parameters, scenario z-vectors, vol shocks, terms)
    state.json        {"genesis": ModelStateFx of T-1, "state": ModelStateFx after the step to T}
    model.json        MarginModelFx v2: price, lin (S x U), opt (S x n_opt), marks, exposures,
                      haircuts, ADV, weights, buffers, k and the structure (the scenario P&L)
    scenarios.json    names, kinds and vol shocks of the S scenarios (labels for ``explain``)
    commitments.json  lin_commitment, opt_commitment, param_hash, state_commitment, structure_id

:func:`load_export` recomputes ``linCommitment``, ``optCommitment``, the parameter hash and
the state commitment from the files and refuses (:class:`VerificationFailed`) an export whose
files do not give the commitments it records, so a trader who checked the commitments
against the registry can trust every number computed from it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from .. import atomic
from ..errors import InputError, read_json_file
from ..risk.book import Book
from ..risk.fixed_margin import MarginModelFx
from .context import TraderContext, check_book_matches_model

KIND = "calcm-model-export"
FILES = ("params.json", "state.json", "model.json", "scenarios.json", "commitments.json")


class VerificationFailed(RuntimeError):
    """A recomputed value differs from the recorded one (exit code 3)."""


@dataclass(frozen=True)
class ExportResult:
    out: str
    asof: str
    commitments: dict
    files: dict           # name -> sha256

    def to_json(self) -> dict:
        return dict(vars(self))


def model_to_json(m: MarginModelFx) -> dict:
    return {f.name: (getattr(m, f.name) if not isinstance(getattr(m, f.name), tuple)
                     else json.loads(json.dumps(getattr(m, f.name)))) for f in fields(m)}


def model_from_json(d: dict, source: str) -> MarginModelFx:
    try:
        def tup(v):
            return tuple(tup(x) for x in v) if isinstance(v, list) else int(v)
        return MarginModelFx(**{f.name: tup(d[f.name]) for f in fields(MarginModelFx)})
    except KeyError as exc:
        raise InputError(source, "model", str(exc.args[0]), "missing") from None
    except (TypeError, ValueError) as exc:
        raise InputError(source, "model", "-", f"not a valid margin model: {exc}") from None


def prepare_out(out: Path) -> None:
    """Check that ``out`` can become an export directory (InputError naming --out otherwise)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "-", "--out", "exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").exists():
        raise InputError(str(out), "-", "--out", "is a non-empty directory that is not a model export")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkdtemp(prefix=f".{out.name}.probe.", dir=out.parent))
        probe.rmdir()
    except OSError as exc:
        raise InputError(str(out), "-", "--out", f"cannot write here: {exc.strerror}") from None


def export_model(ctx: TraderContext, out: Path, origin: dict | None = None) -> ExportResult:
    """Write ``ctx``'s published model as an export directory (see the module docstring)."""
    if ctx.params is None or ctx.state is None:
        raise InputError(ctx.source, "-", "params", "the model has no parameters and state to export")
    out = Path(out)
    prepare_out(out)
    docs = {
        "params.json": ctx.params.to_json(),
        "state.json": {"genesis": ctx.genesis.to_json() if ctx.genesis is not None else None,
                       "state": ctx.state.to_json()},
        "model.json": model_to_json(ctx.model),
        "scenarios.json": {"names": list(ctx.scenario_names), "kinds": list(ctx.scenario_kinds),
                           "vol_shock": list(ctx.scenario_vol_shocks)},
        "commitments.json": dict(ctx.commitments),
    }
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise InputError(str(out), "-", "--out", f"cannot write here: {exc.strerror}") from None
    try:
        sha = {}
        for name, doc in docs.items():
            atomic.write_json(tmp / name, doc)
            os.chmod(tmp / name, 0o644)         # public files
            sha[name] = hashlib.sha256((tmp / name).read_bytes()).hexdigest()
        manifest = {"kind": KIND, "asof": ctx.asof, "origin": origin or {"source": ctx.source},
                    "instruments": list(ctx.book.instrument_ids),
                    "collateral": list(ctx.book.collateral_assets), "files": sha}
        atomic.write_json(tmp / "manifest.json", manifest)
        os.chmod(tmp / "manifest.json", 0o644)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old.{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(str(out), ctx.asof, dict(ctx.commitments), sha)


def recompute_commitments(model: MarginModelFx, params, state) -> dict:
    from ..poseidon import lin_commitment, opt_commitment
    return {"lin_commitment": str(lin_commitment(model)), "opt_commitment": str(opt_commitment(model)),
            "param_hash": str(params.param_hash()) if params is not None else None,
            "state_commitment": str(state.commitment()) if state is not None else None,
            "structure_id": str(model.structure_id)}


def compare_commitments(ctx: TraderContext, recorded: dict, keys=("lin_commitment", "opt_commitment",
                                                                  "param_hash", "state_commitment")) -> list[str]:
    """Names of the commitments in ``recorded`` that differ from ``ctx``'s (decimal strings)."""
    return [k for k in keys if k in recorded and recorded[k] is not None
            and str(recorded[k]) != str(ctx.commitments.get(k))]


def load_export(model_dir: Path, book: Book) -> TraderContext:
    """A :class:`TraderContext` from an export directory (commitments recomputed and checked)."""
    from ..risk.modelfx import ModelParamsFx, ModelStateFx

    d = Path(model_dir)
    if not d.is_dir():
        raise InputError(str(d), "-", "--model", "not a directory (expected a `calcm model export` output)")
    man = read_json_file(d / "manifest.json")
    if not isinstance(man, dict) or man.get("kind") != KIND:
        raise InputError(str(d / "manifest.json"), "-", "kind", f"not a calcm model export (kind {KIND!r})")
    for name, want in (man.get("files") or {}).items():
        p = d / name
        if not p.is_file():
            raise InputError(str(p), "-", "-", "missing from the export")
        if hashlib.sha256(p.read_bytes()).hexdigest() != want:
            raise VerificationFailed(f"{p}: sha256 differs from the export's manifest")
    docs = {n: read_json_file(d / n) for n in FILES}
    try:
        params = ModelParamsFx.from_json(docs["params.json"])
        state = ModelStateFx.from_json(docs["state.json"]["state"])
        genesis_doc = docs["state.json"].get("genesis")
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(str(d), "params.json/state.json", "-", f"not valid: {exc!r}") from None
    model = model_from_json(docs["model.json"], str(d / "model.json"))
    check_book_matches_model(book, man.get("instruments", []), man.get("collateral", []), str(d))
    recorded = docs["commitments.json"]
    got = recompute_commitments(model, params, state)
    bad = [k for k in ("lin_commitment", "opt_commitment", "param_hash", "state_commitment", "structure_id")
           if str(recorded.get(k)) != got[k]]
    if bad:
        raise VerificationFailed(f"{d}: the exported files do not give the recorded {', '.join(bad)}")
    sc = docs["scenarios.json"]
    return TraderContext(book, model, str(man.get("asof")), tuple(sc.get("names", ())),
                         tuple(sc.get("kinds", ())), got, params=params, state=state, risk=None,
                         source=f"export {d}", scenario_vol_shocks=tuple(float(v) for v in sc.get("vol_shock", ())),
                         genesis=ModelStateFx.from_json(genesis_doc) if genesis_doc else None)
