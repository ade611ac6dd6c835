"""``calcm audit``: every check, on every build, into one report.

:func:`run_audit` takes :class:`AuditOptions` and returns an
:class:`~calcm.audit.report.AuditReport`; nothing is written here (the CLI
writes the Markdown report atomically). Builds are either margin-batch builds
(``calcm setup``) or model-update builds (``calcm model-setup``), told apart by
their manifest (a model build's config carries its ``struct_id``).
"""
from __future__ import annotations

import random
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import InputError
from ..paths import CONTRACTS, default_build_dir
from ..zk.prove import ContextInfo
from ..zk.setup import Build
from . import cases as C
from . import equivalence as E
from . import setup_integrity as SI
from . import mutation as MU
from . import aliases as AL
from . import soundness as SO
from .circuit import build_circuit, wire_names
from . import transparency as T
from .r1cs import load_r1cs
from .report import FAIL, SKIP, AuditReport, Check
from .wasm import calculate_many

GENERATED = CONTRACTS / "generated"


@dataclass
class AuditOptions:
    """What to audit and how thoroughly (CLI flags of ``calcm audit``)."""

    builds: Sequence[Path] = ()
    model_states: Sequence[Path] = ()
    verifiers_dir: Path = GENERATED
    rpc: str | None = None
    addresses: Sequence[str] = ()
    #: A MarginRegistry address: audit the verifiers it uses now (issue 13 I3; needs ``rpc``).
    registry: str | None = None
    ptau: Path | None = None
    use_cache: bool = True
    seed: int = 0
    random_cases: int = 6
    float_random: int = 64
    hint_deltas: Sequence[int] = (1, -1)
    hint_probes: bool = True
    probe_witnesses: int = 3
    #: Caps for fast runs (tests): single-signal alterations on a seeded sample of this many
    #: private wires (public ones always), hint mutations on this many hints (every unpinned
    #: one always). None: everything (what `calcm audit` does).
    max_wires: int | None = None
    max_hints: int | None = None
    #: Tail-hint alternatives on this many probe witnesses and accounts each (None: all probes, 2 accounts).
    tail_inputs: int | None = None
    tail_accounts: int = 2
    #: The external cross-checks (snarkjs wtns calculate / wtns check against the Python evaluator,
    #: circom --inspect). Off only in the planted-defect tests, which run the audit's own probes on
    #: many variants; `calcm audit` always runs them.
    cross_checks: bool = True
    jobs: int = 2
    progress: object = field(default=None, repr=False)   # callable(str) or None


def discover_builds(root: Path | None = None) -> list[Path]:
    """Every build directory (holding a manifest.json) directly under ``root`` (default: build/)."""
    root = Path(root or default_build_dir())
    return sorted(p.parent for p in root.glob("*/manifest.json"))


def is_model(build: Build) -> bool:
    return "struct_id" in build.manifest["config"]


def _say(opts: AuditOptions, msg: str) -> None:
    if opts.progress is not None:
        opts.progress(msg)


def _guarded(report: AuditReport, what: str, fn, *args, default=None):
    """``fn(*args)``; any exception becomes a FAIL check naming ``what`` (the audit fails
    closed and still writes its report: issue 13 A3)."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        report.add(Check("soundness" if "soundness" in what else "setup" if "setup" in what else "equivalence",
                         f"{what} could not complete", FAIL, f"{type(exc).__name__}: {exc}"[:300],
                         details=[ln.rstrip() for ln in tb[-6:]]))
        return default


def _describe(build: Build) -> dict:
    m = build.manifest
    return {"dir": str(build.dir), "kind": f"model-{m['config'].get('kind', 'step')}" if is_model(build) else "margin",
            "config": m["config"]["name"], "constraints": m["r1cs"]["constraints"],
            "mode": build.mode, "security": build.security,
            "insecure_dev": SI.is_dev(build) or bool(m.get("dev_only")),
            "proving_key_sha256": build.proving_key_sha256,
            "zkey_sha256": (m.get("zkey") or {}).get("sha256"), "ptau_power": (m.get("ptau") or {}).get("power"),
            "dev_only": bool(m.get("dev_only"))}


def _model_params(build: Build, opts: AuditOptions):
    """(params, state, where from): a model file matching the build's structure, else synthetic."""
    from ..zk.model_prove import build_config, load_model_file
    from ..zk.model_synthetic import synthetic_state

    config = build_config(build)
    for path in opts.model_states:
        mf = load_model_file(path)
        if config.matches(mf.params):
            return config, mf.params, mf.state, f"model file {path}"
    params = C.params_for_config(config, opts.seed)
    return config, params, synthetic_state(params, opts.seed), "synthetic parameters of the build's structure"


# ------------------------------------------------------------------------------ per build

def _setup_checks(report: AuditReport, build: Build, label: str, opts: AuditOptions) -> bytes | None:
    _say(opts, f"{label}: setup integrity")
    report.add(SI.manifest_check(build, label, ptau=opts.ptau))
    report.add(SI.ptau_check(build, label, opts.ptau, opts.use_cache))
    report.add(SI.zkey_check(build, label, opts.ptau, opts.use_cache))
    report.add(SI.vkey_check(build, label))
    check, source = SI.verifier_check(build, label, opts.verifiers_dir)
    report.add(check)
    warn = SI.dev_setup_warning(build, label)
    if warn:
        report.add(warn)
    return source


def _margin_build(report: AuditReport, build: Build, label: str, opts: AuditOptions) -> list[dict]:
    return margin_equivalence_checks(report, build.config, build.wasm, build.sym, label, opts)


def margin_equivalence_checks(report: AuditReport, config, wasm, sym, label: str, opts: AuditOptions) -> list[dict]:
    """Equivalence checks of a margin circuit; returns the soundness probe inputs."""
    _say(opts, f"{label}: equivalence (fixtures, random portfolios, edge cases)")
    try:
        fixture = C.fixture_margin_cases(config)
    except (InputError, ValueError) as exc:
        fixture = []
        report.add(Check("equivalence", f"bundled fixture book on {label}", SKIP,
                         f"the bundled book's published model does not have this circuit's structure: {exc}"))
    random_cases = C.random_margin_cases(config, opts.random_cases, opts.seed)
    edge = C.edge_margin_cases(config, opts.seed)
    report.add(E.margin_equivalence(config, wasm, sym, fixture + random_cases + edge,
                                    label=label, cross_check=opts.cross_checks))
    return margin_probe_inputs(config, fixture, random_cases, edge, opts.probe_witnesses)


def margin_probe_inputs(config, fixture, random_cases, edge, count: int = 3) -> list[dict]:
    """Circuit inputs of the soundness probes: a fixture batch (ties at zero loss: a basis
    trade), a random batch and a negative ES (the signed ceil), when present."""
    probes = (fixture[:1] + random_cases[:1] + [c for c in edge if "negative ES" in c.name][:1]
              + edge[:1])[:count]
    ctx = ContextInfo().value
    return [E.margin_expectations(config, c, ctx)[0] for c in probes]


def _model_build(report: AuditReport, build: Build, label: str, opts: AuditOptions) -> list[dict]:
    config, params, state, source = _model_params(build, opts)
    _say(opts, f"{label}: equivalence (chained price paths, crash days) on {source}")
    blocks = C.model_cases(params, state, opts.seed)
    report.add(E.model_equivalence(config, build.wasm, build.sym, params, blocks, label=f"{label}; {source}"))
    report.add(E.model_float_equivalence(params, blocks, label=f"{label}; {source}"))
    ctx = ContextInfo().value
    probes = [inp for b in blocks for _, inp, _ in E.model_inputs(config, b, params, ctx)]
    return probes[:opts.probe_witnesses]


def _soundness_checks(report: AuditReport, build: Build, label: str, inputs: list[dict],
                      opts: AuditOptions) -> None:
    soundness_checks(report, build_circuit(build, label), label, inputs, opts)


def soundness_checks(report: AuditReport, circuit, label: str, inputs: list[dict], opts: AuditOptions) -> None:
    """Every soundness probe of :mod:`calcm.audit.soundness` and :mod:`calcm.audit.mutation` on ``circuit``."""
    _say(opts, f"{label}: soundness probes")
    r1cs = load_r1cs(circuit.r1cs)
    names = wire_names(circuit.sym)
    report.add(SO.structure_check(r1cs, names, label))
    runs = calculate_many(circuit.wasm, inputs) if inputs else []
    honest = [w.values for w in runs if w.clean]
    clean_inputs = [inp for inp, w in zip(inputs, runs) if w.clean]
    if len(honest) != len(inputs) or not inputs:
        report.add(Check("soundness", f"honest witnesses ({label})", "FAIL",
                         f"{len(inputs) - len(honest)} of {len(inputs)} probe inputs give no clean witness",
                         details=[f"{w.asserts} {w.error}" for w in runs if not w.clean]))
    check, samples = SO.single_signal_check(r1cs, honest, names, label, opts.seed, opts.max_wires, circuit.r1cs)
    report.add(check)
    if honest:
        if opts.cross_checks:
            report.add(SO.wtns_check_sample(r1cs, circuit.r1cs, honest[0], samples, names, label))
        n = opts.tail_inputs
        report.add(MU.tail_hint_check(circuit, clean_inputs[:n], honest[:n], label, opts.tail_accounts))
        if "group" in clean_inputs[0]:
            report.add(AL.index_alias_check(circuit, clean_inputs[:n], honest[:n], label))
    scan_check, sites = SO.source_scan_check(circuit)
    report.add(scan_check)
    sites = select_hints(sites, opts.max_hints, opts.seed)
    if opts.hint_probes and honest:
        _say(opts, f"{label}: hint mutations ({len(sites)} hints x {len(opts.hint_deltas)} deltas; "
                   f"each uncached one recompiles the circuit)")
        report.add(MU.hint_mutation_check(circuit, sites, clean_inputs, honest, opts.hint_deltas,
                                          use_cache=opts.use_cache, jobs=opts.jobs))
    elif not opts.hint_probes:
        report.add(Check("soundness", f"hint mutations ({label})", SKIP, "disabled (--no-hint-probes)"))
    if opts.cross_checks:
        report.add(SO.inspect_check(circuit))


def audit_margin_circuit(circuit, config, opts: AuditOptions) -> AuditReport:
    """Equivalence and soundness of a compiled margin circuit with no build around it (a
    source tree under review, or a planted defect): the same checks `calcm audit` runs on a
    margin build, minus setup integrity. Runs to a report whatever the circuit does."""
    t0 = time.perf_counter()
    report = AuditReport([{"dir": str(Path(circuit.r1cs).parent), "kind": "margin (sources only)",
                           "config": config.name, "constraints": len(load_r1cs(circuit.r1cs).constraints)}])
    label = circuit.label
    inputs = _guarded(report, f"equivalence ({label})", margin_equivalence_checks, report, config,
                      circuit.wasm, circuit.sym, label, opts, default=[])
    _guarded(report, f"soundness probes ({label})", soundness_checks, report, circuit, label, inputs, opts)
    report.seconds = time.perf_counter() - t0
    return report


def select_hints(sites: list, max_hints: int | None, seed: int = 0) -> list:
    """Hints to mutate: all (``max_hints`` None), else every unpinned hint, then those pinned only
    by a sub-component input (a range check pins the bits, not the value: the weakest kind), then
    a seeded sample of the rest, ``max_hints`` in all (never fewer than the unpinned ones)."""
    if max_hints is None or len(sites) <= max_hints:
        return list(sites)
    weak = lambda s: s.pinned and not any("===" in p for p in s.pinned_by)  # noqa: E731
    rest = [s for s in sites if s.pinned and not weak(s)]
    ranked = ([s for s in sites if not s.pinned] + [s for s in sites if weak(s)]
              + random.Random(seed).sample(rest, len(rest)))
    keep = set(id(s) for s in ranked[:max(max_hints, sum(1 for s in sites if not s.pinned))])
    return [s for s in sites if id(s) in keep]


# ------------------------------------------------------------------------------ the audit

def run_audit(opts: AuditOptions) -> AuditReport:
    """Run every check on every build of ``opts`` (see the package docstring)."""
    t0 = time.perf_counter()
    dirs = list(opts.builds) or discover_builds()
    if not dirs:
        raise InputError(str(default_build_dir()), "-", "manifest.json",
                         "no build to audit: run `calcm setup` (and `calcm model-setup`) or pass --build DIR")
    builds = [Build.load(d) for d in dirs]
    # Read the chain first: a dead node fails in a second (SI.RpcUnavailable), before any probe.
    in_use = SI.registry_verifiers(opts.rpc, opts.registry) if opts.rpc and opts.registry else None
    if opts.rpc and in_use is None:
        SI.connect(opts.rpc)
    report = AuditReport([_describe(b) for b in builds])
    expected_code: dict[str, bytes] = {}
    kinds: dict[str, str] = {}
    for build in builds:
        label = f"{'model' if is_model(build) else 'margin'} {build.manifest['config']['name']}"
        source = _guarded(report, f"setup integrity ({label})", _setup_checks, report, build, label, opts)
        if opts.rpc and (opts.addresses or opts.registry) and source is not None:
            expected_code[label] = SI.expected_runtime(build, source)
            kinds[label] = _describe(build)["kind"]
        inputs = _guarded(report, f"equivalence ({label})",
                          _model_build if is_model(build) else _margin_build, report, build, label, opts,
                          default=[])
        if SI.is_dev(build):
            chk = _guarded(report, f"setup: dev proving key ({label})", SI.dev_key_check, build, label, inputs)
            if chk is not None:
                report.add(chk)
        _guarded(report, f"soundness probes ({label})", _soundness_checks, report, build, label, inputs, opts)
    _say(opts, "fixed point vs float; transparency")
    for what, fn, args in (("fixed point vs float margin", E.margin_float_equivalence, (opts.float_random, opts.seed)),
                           ("float model parameters", T.float_params_check, ())):
        chk = _guarded(report, what, fn, *args)
        if chk is not None:
            report.add(chk)
    states = list(opts.model_states)
    for what, load in ([(f"model file {p}", lambda p=p: T.load_params(p)) for p in states] or
                       [("bundled market and book, `calcm model-init` defaults", T.default_model_params)]):
        chk = _guarded(report, f"parameter hash ({what})", lambda w=what, ld=load: T.param_hash_check(ld(), w))
        if chk is not None:
            report.add(chk)
    if opts.rpc and opts.addresses:
        _say(opts, f"deployed bytecode at {len(opts.addresses)} address(es)")
        report.add(SI.deployed_check(expected_code, opts.rpc, opts.addresses))
    if in_use is not None:
        _say(opts, f"the verifiers registry {opts.registry} uses")
        report.add(SI.registry_check({lbl: (kinds[lbl], code) for lbl, code in expected_code.items()},
                                     opts.rpc, opts.registry, in_use))
    if not (opts.rpc and (opts.addresses or opts.registry)):
        report.add(SI.rpc_skipped())
    report.seconds = time.perf_counter() - t0
    return report
