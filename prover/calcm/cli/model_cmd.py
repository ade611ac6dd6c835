"""CLI commands of the model stage: ``model-init``, ``model-setup``, ``model-prove``,
``model-tables`` and ``bench model``."""
from __future__ import annotations

from pathlib import Path

import click

from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
from .output import console, emit_json, table
from . import progress
from .progress import enabled_for


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

    @main.command("model-init")
    @click.option("--market", type=click.Path(path_type=Path), default=DEFAULT_MARKET, show_default=True)
    @click.option("--volumes", type=click.Path(path_type=Path), default=None,
                  help="USD daily volumes (default: the bundled ones with the bundled market)")
    @click.option("--book", type=click.Path(path_type=Path), default=DEFAULT_BOOK, show_default=True,
                  help="book JSON: its instruments and collateral define the model")
    @click.option("--chunks", type=int, default=None,
                  help="scenario chunks C of the option parts (must divide the published scenario count; "
                       "default 6 when it divides it, as for the bundled book, else 1)")
    @click.option("--k-tail", type=int, default=None, help="ES tail size (default: from the ES level)")
    @click.option("--asof", default=None, help="model date (default: the last date of the market)")
    @click.option("--out", "out_file", type=click.Path(path_type=Path), required=True,
                  help="model file to write (genesis state at the day before asof, and the parameters)")
    @click.option("--prices-out", type=click.Path(path_type=Path), default=None,
                  help="also write asof's prices (the first block, which reproduces the float model)")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def model_init_cmd(market, volumes, book, chunks, k_tail, asof, out_file, prices_out, as_json):
        """Genesis model file from the float model's GARCH fits and its FULL scenario set."""
        from .. import atomic
        from ..errors import InputError
        from ..market import load_market
        from ..risk.book import load_book
        from ..risk.model import build_risk_model
        from ..risk.modelfx import genesis, params_from_risk_model
        from ..zk.model_prove import ModelFile

        if volumes is None and Path(market).resolve() == DEFAULT_MARKET.resolve():
            volumes = DEFAULT_VOLUMES
        md = load_market(market, volumes)
        bk = load_book(book)
        with progress.step("fitting GARCH and building the scenario set", enabled=enabled_for(as_json)):
            rm = build_risk_model(md, bk, asof=asof)
        try:
            params = params_from_risk_model(rm, bk, chunks, k_tail)
            state, first = genesis(rm, md)
        except ValueError as exc:
            raise InputError(str(book), "-", "model", str(exc)) from None
        mf = ModelFile(state, params, {"asof": str(rm.asof), "source": {
            "market": str(market), "book": str(book), "scenarios": list(rm.scenarios.names)}})
        first_prices = {a: p / 1e6 for a, p in zip(params.assets, first)}
        if prices_out is not None:
            atomic.write_json(prices_out, {"prices_fx": list(first), "prices": first_prices, "asof": str(rm.asof)})
        atomic.write_json(out_file, mf.to_json())
        out = {"out": str(out_file), "assets": list(params.assets), "scenarios": params.n_scenarios,
               "chunks": params.chunks,
               "instruments": [i.id for i in params.instruments], "k_tail": params.k_tail,
               "state_commitment": str(state.commitment()), "param_hash": str(params.param_hash()),
               "asof": str(rm.asof), "first_block_prices": first_prices}
        if as_json:
            emit_json(out)
            return
        table(f"calcm model-init: {out_file}", ["item", "value"],
              [[k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)] for k, v in out.items()])

    @main.command("model-setup")
    @click.option("--state", "state_file", type=click.Path(path_type=Path), required=True,
                  help="model file: its parameters fix the circuit's structure")
    @click.option("--build", "build_dir", type=click.Path(path_type=Path), default=None,
                  help="build directory (default: the cache, keyed by the circuit source hash)")
    @click.option("--ptau", type=click.Path(path_type=Path), default=None, help="ceremony ptau file")
    @click.option("--circuit", type=click.Choice(["step", "reval", "option"]), default="step", show_default=True)
    @click.option("--mode", type=click.Choice(["auto", "ceremony", "dev"]), default="auto", show_default=True,
                  help="setup: auto = snarkjs ceremony path up to the local power-13 ptau, else groth16py "
                       "dev setup (INSECURE-DEV, single party)")
    @click.option("--force", is_flag=True, help="rebuild even if the build is up to date")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def model_setup_cmd(state_file, build_dir, ptau, circuit, mode, force, as_json):
        """Compile one model circuit (daily step, revaluation, option part) and run the Groth16 setup."""
        from ..zk.model_circuit import ModelCircuitConfig
        from ..zk.model_prove import load_model_file, model_build

        mf = load_model_file(state_file)
        with progress.step(f"model-setup {circuit}: compile + Groth16 setup", enabled=enabled_for(as_json)):
            build, reused = model_build(ModelCircuitConfig.from_params(mf.params, kind=circuit), build_dir,
                                        ptau, mode=mode, reuse=not force)
        m = build.manifest
        out = {"build": str(build.dir), "reused": reused, "config": m["config"],
               "constraints": m["r1cs"]["constraints"], "ptau_power": (m.get("ptau") or {}).get("power"),
               "mode": m["mode"], "security": m["security"],
               "zkey_sha256": m["zkey"]["sha256"], "vkey_sha256": m["vkey_sha256"],
               "source_hash": m["source_hash"], "dev_only": m["dev_only"], "seconds": m["seconds"]}
        if as_json:
            emit_json(out)
            return
        table(f"calcm model-setup ({'up to date' if reused else 'built'}): {build.dir}", ["item", "value"],
              [["config", m["config"]["name"]], ["constraints", f"{m['r1cs']['constraints']:,}"],
               ["mode", m["mode"]], ["ptau power", out["ptau_power"] or "-"],
               ["zkey sha256", (m["zkey"]["sha256"] or "-")[:16]],
               ["security", m["security"] + (" (INSECURE, dev only)" if m["dev_only"] else "")]])

    @main.command("model-prove")
    @click.option("--state", "state_file", type=click.Path(path_type=Path), required=True,
                  help="model file (model-init's, or the last daily step's state.json)")
    @click.option("--prices", "prices_file", type=click.Path(path_type=Path), required=True,
                  help='JSON {"prices": {"BTC": 29000.5, ...}} in USD (or "prices_fx": [...] at 1e6)')
    @click.option("--circuit", type=click.Choice(["step", "reval", "option"]), required=True,
                  help="step: the daily step to these closes; reval: intraday linear revaluation; "
                       "option: every option part at the state and prices")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
                  help="output directory (option: one sub-directory per part)")
    @click.option("--ptau", type=click.Path(path_type=Path), default=None, help="ceremony ptau file")
    @click.option("--mode", type=click.Choice(["auto", "ceremony", "dev"]), default="auto", show_default=True,
                  help="setup: auto = snarkjs ceremony path up to the local power-13 ptau, else groth16py "
                       "dev setup (INSECURE-DEV, single party)")
    @click.option("--backend", type=click.Choice(["auto", "arkworks", "snarkjs"]), default="auto",
                  show_default=True, help="prover backend (calcm.zk.backend)")
    @click.option("--chain-id", type=int, default=None, help="context chain id (default: prices file or 31337)")
    @click.option("--registry", default=None, help="context registry address (default: prices file or 0x0)")
    @click.option("--block", type=int, default=None, help="context block (default: prices file, else 0)")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def model_prove_cmd(state_file, prices_file, circuit, out_dir, ptau, mode, backend, chain_id, registry, block,
                        as_json):
        """Prove a daily step, an intraday revaluation, or the chain of option parts."""
        from ..risk.modelfx import option_parts, reval, step
        from ..zk.model_circuit import ModelCircuitConfig
        from ..zk.model_prove import load_model_file, model_build, prove_model, read_price_file
        from ..zk.prove import ContextInfo

        mf = load_model_file(state_file)
        prices, extra = read_price_file(prices_file, mf.params)
        ctx = ContextInfo(chain_id if chain_id is not None else int(extra.get("chain_id", 31337)),
                          registry or str(extra.get("registry", "0x" + "00" * 20)),
                          block if block is not None else int(extra.get("block", 0)))
        # Validate (ranges, shapes) before any compile or setup runs.
        if circuit == "option":
            parts = option_parts(mf.state, prices, mf.params)
        else:
            (step if circuit == "step" else reval)(mf.state, prices, mf.params)
        on = enabled_for(as_json)
        with progress.step(f"{circuit} circuit build (cached by source hash)", enabled=on):
            build, _ = model_build(ModelCircuitConfig.from_params(mf.params, kind=circuit), None, ptau, mode=mode)
        with progress.step(f"proving the {circuit} circuit", enabled=on):
            if circuit != "option":
                res = [prove_model(build, mf, prices, out_dir, ctx, backend=backend)]
            else:
                res = [prove_model(build, mf, prices, Path(out_dir) / f"part-{p.part}", ctx, p.part, p.prev,
                                   backend=backend) for p in parts]
        out = {"out": str(out_dir), "circuit": circuit, "context": ctx.to_json(),
               "security": build.manifest["security"], "backend": res[0].backend,
               "proofs": [{k: str(v) for k, v in r.expected.public_dict().items()} for r in res],
               "seconds": {"witness": round(sum(r.witness_seconds for r in res), 3),
                           "prove": round(sum(r.prove_seconds for r in res), 3)}}
        if as_json:
            emit_json(out)
            return
        for r in res:
            for k, v in r.expected.public_dict().items():
                console.print(f"{k} {v}")
        console.print(f"{len(res)} proof(s) in {out_dir}: witness {out['seconds']['witness']} s, "
                      f"prove {out['seconds']['prove']} s")

    @main.command("model-tables")
    @click.option("--check", is_flag=True, help="only check that the generated file is current")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def model_tables_cmd(check, as_json):
        """Regenerate circuits/model/tables.circom and circuits/constants.circom (generated sources)."""
        from ..zk.model_circuit import TABLES_FILE, check_tables, write_tables

        if check:
            from ..errors import VerificationFailed
            from ..zk.circuit_constants import StaleConstants
            from ..zk.model_circuit import StaleTables
            try:
                check_tables()
            except (StaleTables, StaleConstants) as exc:
                raise VerificationFailed(str(exc)) from None
            doc = {"file": str(TABLES_FILE), "current": True, "written": False}
        else:
            changed = write_tables()
            doc = {"file": str(TABLES_FILE), "current": True, "written": bool(changed)}
        if as_json:
            emit_json(doc)
        elif check:
            console.print(f"{TABLES_FILE} is current")
        else:
            console.print(f"{TABLES_FILE} {'written' if doc['written'] else 'already current'}")

    @bench.command("model")
    @click.option("--chunks", type=int, default=None,
                  help="scenario chunks C of the option parts (default: the bundled book's, 6)")
    @click.option("--circuits", default="option,reval,step", show_default=True,
                  help="comma-separated circuits to measure (option, reval, step)")
    @click.option("--prove-max", type=int, default=500_000, show_default=True,
                  help="set up and prove only circuits up to this many constraints (else a fitted time)")
    @click.option("--all-parts", is_flag=True,
                  help="prove every option part in sequence and report the measured total")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def bench_model_cmd(chunks, circuits, prove_max, all_parts, as_json):
        """Model circuits on the bundled book (S=534, 6 options): constraints, compile, setup, prove."""
        from ..zk.model_bench import DEFAULT_CHUNKS, bench_model

        report = bench_model(chunks or DEFAULT_CHUNKS, tuple(_csv(circuits) or ["option"]), prove_max=prove_max,
                             all_parts=all_parts)
        if as_json:
            emit_json(report)
            return
        table(f"calcm bench model (bundled book, S={report['S']}, C={report['C']}; {report['backend']})",
              ["circuit", "constraints", "compile s", "setup s", "prove s", "prove"],
              [[r["circuit"], f"{r['constraints']:,}", r["compile_seconds"], r["setup_seconds"],
                r["prove_seconds"], r["prove"]] for r in report["circuits"]])
        total = report["revalue_all_options"]
        if total:
            console.print(f"all options: {total['seconds']} s ({total['label']})")
