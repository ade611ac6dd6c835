"""CLI of the audit stage: ``calcm audit`` (docs/AUDIT.md)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .output import console, emit_json

STATUS_STYLE = {"PASS": "green", "FAIL": "bold red", "WARN": "yellow", "SKIP": "dim"}


def _deltas(value: str) -> tuple[int, ...]:
    from ..errors import InputError
    try:
        out = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        out = ()
    if not out or 0 in out:
        raise InputError("command line", "--hint-deltas", "-", f"need non-zero integers like 1,-1; got {value!r}")
    return out


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

    @main.command("audit")
    @click.option("--build", "builds", multiple=True, type=click.Path(path_type=Path),
                  help="build directory to audit (repeatable; default: every build under build/)")
    @click.option("--model-state", "model_states", multiple=True, type=click.Path(path_type=Path),
                  help="model file(s) whose parameters a model-update build is audited with, and whose "
                       "paramHash is recomputed (default: synthetic parameters of the build's structure)")
    @click.option("--report", "report_path", type=click.Path(path_type=Path), default=None,
                  help="write the Markdown report here (atomic)")
    @click.option("--rpc", default=None, metavar="URL", help="JSON-RPC node holding the deployed verifier(s)")
    @click.option("--address", "addresses", multiple=True, metavar="ADDR",
                  help="deployed verifier address to check against the audited zkeys (repeatable; needs --rpc)")
    @click.option("--registry", default=None, metavar="ADDR",
                  help="MarginRegistry address: audit the verifiers it uses now (marginVerifier, stepVerifier, "
                       "revalVerifier, optionVerifier) against the audited builds; needs --rpc")
    @click.option("--ptau", type=click.Path(path_type=Path), default=None,
                  help="powers-of-tau file (default: the path in each build's manifest)")
    @click.option("--verifiers", "verifiers_dir", type=click.Path(path_type=Path), default=None,
                  help="generated verifiers to compare (default: verifier_contracts/generated)")
    @click.option("--hint-deltas", default="1,-1", show_default=True,
                  help="shifts applied to each `<--` hint in the mutation probes")
    @click.option("--no-hint-probes", is_flag=True, help="skip the hint mutations (they recompile the circuit)")
    @click.option("--jobs", type=int, default=2, show_default=True,
                  help="parallel circom compilations in the hint mutations")
    @click.option("--max-wires", type=int, default=None,
                  help="single-signal alterations on a seeded sample of this many private wires (default: all)")
    @click.option("--max-hints", type=int, default=None,
                  help="hint mutations on this many hints, every unpinned one included (default: all)")
    @click.option("--random-cases", type=int, default=6, show_default=True,
                  help="seeded random margin batches per build")
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--no-cache", is_flag=True,
                  help="rerun ptau/zkey verification and hint mutations instead of using cached verdicts")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def audit_cmd(builds, model_states, report_path, rpc, addresses, registry, ptau, verifiers_dir, hint_deltas,
                  no_hint_probes, jobs, max_wires, max_hints, random_cases, seed, no_cache, as_json):
        """Audit builds: circuits = model, nothing under-constrained, setup and verifier belong to them.

        Exit codes: 0 all PASS; 2 bad input; 3 a check FAILs (including a deployed verifier, from
        --address or the --registry, that is not the audited build's); 4 the --rpc node does not answer."""
        from .. import atomic
        from ..errors import InputError
        from ..audit.run import GENERATED, AuditOptions, run_audit

        if bool(rpc) != bool(addresses or registry):
            raise InputError("command line", "--rpc/--address/--registry", "-",
                             "give --rpc URL with --address ADDR and/or --registry ADDR")
        for d in builds:
            if not (Path(d) / "manifest.json").exists():
                raise InputError(str(d), "-", "manifest.json", "not a build directory (run `calcm setup`)")
        opts = AuditOptions(
            builds=list(builds), model_states=list(model_states), verifiers_dir=verifiers_dir or GENERATED,
            rpc=rpc, addresses=list(addresses), registry=registry, ptau=ptau, use_cache=not no_cache, seed=seed,
            random_cases=random_cases, hint_deltas=_deltas(hint_deltas), hint_probes=not no_hint_probes,
            jobs=jobs, max_wires=max_wires, max_hints=max_hints,
            progress=lambda msg: click.echo(f"calcm audit: {msg}", err=True))
        from ..audit.setup_integrity import REGISTRY_CHECK, RpcUnavailable
        try:
            report = run_audit(opts)
        except RpcUnavailable as exc:
            click.echo(f"calcm audit: {exc}", err=True)
            sys.exit(4)
        except ValueError as exc:           # --registry is not a MarginRegistry (read before any probe)
            if registry is None or not str(exc).startswith(registry):
                raise
            raise InputError("command line", "--registry", registry, str(exc)) from None
        if report_path is not None:
            atomic.write_text(report_path, report.to_markdown())
        if as_json:
            emit_json({**report.to_json(), "report": str(report_path) if report_path else None})
        else:
            _print(report, report_path)
        if any(c.status == "FAIL" and c.name in ("deployed verifier bytecode", REGISTRY_CHECK)
               for c in report.checks):
            sys.exit(3)
        if not report.ok:
            sys.exit(3)                      # README: exit 3 = verification or audit failed


def _print(report, report_path) -> None:
    from rich.table import Table

    t = Table(title=f"calcm audit: {'PASS' if report.ok else 'FAIL'}")
    for c in ("status", "section", "check", "result"):
        t.add_column(c)
    for c in report.checks:
        t.add_row(f"[{STATUS_STYLE[c.status]}]{c.status}[/]", c.section, c.name, c.summary)
    console.print(t)
    for c in report.checks:
        if c.section == "transparency":
            console.print(f"[bold]{c.name}[/]")
            for d in c.details:
                console.print(f"  {d}", soft_wrap=True)
    for c in report.checks:
        if c.status == "FAIL":
            console.print(f"[bold red]FAIL[/] {c.name}")
            for d in c.details[:10]:
                console.print(f"  {d}", soft_wrap=True)
    counts = report.status_counts()
    console.print(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['WARN']} warnings, "
                  f"{counts['SKIP']} skipped in {report.seconds:.0f} s"
                  + (f"; report: {report_path}" if report_path else ""))
