"""CLI commands of the model stage: ``model-init``, ``model-setup``, ``model-update``,
``model-tables`` and ``bench model``."""
from __future__ import annotations

from pathlib import Path

import click

from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
from .output import console, emit_json, table


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
    @click.option("--instruments", default=None,
                  help="comma-separated instrument ids, in circuit order (default: all, book order)")
    @click.option("--collateral", default=None,
                  help="comma-separated collateral assets, in circuit order (default: all)")
    @click.option("--scenarios", type=int, default=8, show_default=True,
                  help="scenarios in the circuit (stress first, then evenly spaced FHS days)")
    @click.option("--k-tail", type=int, default=None, help="ES tail size (default: from the ES level)")
    @click.option("--asof", default=None, help="model date (default: the last date of the market)")
    @click.option("--out", "out_file", type=click.Path(path_type=Path), required=True,
                  help="model file to write (genesis state at the day before asof, and the parameters)")
    @click.option("--prices-out", type=click.Path(path_type=Path), default=None,
                  help="also write asof's prices (the first block, which reproduces the float model)")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def model_init_cmd(market, volumes, book, instruments, collateral, scenarios, k_tail, asof, out_file,
                       prices_out, as_json):
        """Genesis model file from the float model's GARCH fits and scenario set."""
        from .. import atomic
        from ..errors import InputError
        from ..market import load_market
        from ..risk.book import load_book
        from ..risk.model import build_risk_model
        from ..risk.model_fx import genesis, params_from_risk_model, sub_book
        from ..zk.model_prove import ModelFile

        if volumes is None and Path(market).resolve() == DEFAULT_MARKET.resolve():
            volumes = DEFAULT_VOLUMES
        md = load_market(market, volumes)
        try:
            bk = sub_book(load_book(book), _csv(instruments), _csv(collateral))
        except ValueError as exc:
            raise InputError(str(book), "-", "instruments/collateral", str(exc)) from None
        rm = build_risk_model(md, bk, asof=asof)
        try:
            params, idx = params_from_risk_model(rm, bk, scenarios, k_tail)
            state, first = genesis(rm, md)
        except ValueError as exc:
            raise InputError(str(book), "-", "model", str(exc)) from None
        mf = ModelFile(state, params, {"asof": str(rm.asof), "source": {
            "market": str(market), "book": str(book), "scenarios": [rm.scenarios.names[s] for s in idx]}})
        first_prices = {a: p / 1e6 for a, p in zip(params.assets, first)}
        if prices_out is not None:
            atomic.write_json(prices_out, {"prices_fx": list(first), "prices": first_prices, "asof": str(rm.asof)})
        atomic.write_json(out_file, mf.to_json())
        out = {"out": str(out_file), "assets": list(params.assets), "scenarios": params.n_scenarios,
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
    @click.option("--force", is_flag=True, help="rebuild even if the build is up to date")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def model_setup_cmd(state_file, build_dir, ptau, force, as_json):
        """Compile the model-update circuit for a model file and run the Groth16 setup."""
        from ..zk.model_circuit import ModelCircuitConfig
        from ..zk.model_prove import load_model_file, model_build

        mf = load_model_file(state_file)
        build, reused = model_build(ModelCircuitConfig.from_params(mf.params), build_dir, ptau,
                                    reuse=not force)
        m = build.manifest
        out = {"build": str(build.dir), "reused": reused, "config": m["config"],
               "constraints": m["r1cs"]["constraints"], "ptau_power": m["ptau"]["power"],
               "zkey_sha256": m["zkey"]["sha256"], "vkey_sha256": m["vkey_sha256"],
               "source_hash": m["source_hash"], "dev_only": m["dev_only"], "seconds": m["seconds"]}
        if as_json:
            emit_json(out)
            return
        table(f"calcm model-setup ({'up to date' if reused else 'built'}): {build.dir}", ["item", "value"],
              [["config", m["config"]["name"]], ["constraints", f"{m['r1cs']['constraints']:,}"],
               ["ptau power", m["ptau"]["power"]], ["zkey sha256", m["zkey"]["sha256"][:16]],
               ["warning", "dev-only zkey (public beacon)" if m["dev_only"] else "-"]])

    @main.command("model-update")
    @click.option("--state", "state_file", type=click.Path(path_type=Path), required=True,
                  help="model file of the previous block (model-init's, or the last update's state.json)")
    @click.option("--prices", "prices_file", type=click.Path(path_type=Path), required=True,
                  help='JSON {"prices": {"BTC": 29000.5, ...}} in USD (or "prices_fx": [...] at 1e6)')
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
                  help="output directory: proof, new state, P&L matrix")
    @click.option("--build", "build_dir", type=click.Path(path_type=Path), default=None,
                  help="build from `calcm model-setup` (default: the cached build, made if missing)")
    @click.option("--ptau", type=click.Path(path_type=Path), default=None, help="ceremony ptau file")
    @click.option("--chain-id", type=int, default=None, help="context chain id (default: prices file or 31337)")
    @click.option("--registry", default=None, help="context registry address (default: prices file or 0x0)")
    @click.option("--block", type=int, default=None,
                  help="context block (default: prices file, else the state's step + 1)")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def model_update_cmd(state_file, prices_file, out_dir, build_dir, ptau, chain_id, registry, block,
                         as_json):
        """Prove one block's model update: new state, P&L matrix and the Groth16 proof."""
        from ..zk.model_circuit import ModelCircuitConfig
        from ..zk.model_prove import load_model_file, load_prices, model_build, prove_update
        from ..zk.prove import ContextInfo
        from ..zk.setup import Build

        mf = load_model_file(state_file)
        prices, extra = load_prices(prices_file, mf.params)
        ctx = ContextInfo(chain_id if chain_id is not None else int(extra.get("chain_id", 31337)),
                          registry or str(extra.get("registry", "0x" + "00" * 20)),
                          block if block is not None else int(extra.get("block", mf.state.step + 1)))
        # Validate the block (ranges, shapes) before any compile or setup runs.
        from ..risk.model_fx import update
        update(mf.state, prices, mf.params)
        if build_dir is not None:
            build = Build.load(build_dir)
            build.check_files()
        else:
            build, _ = model_build(ModelCircuitConfig.from_params(mf.params), None, ptau)
        res = prove_update(build, mf, prices, out_dir, ctx)
        up = res.expected.update
        out = {"out": str(out_dir), "step": up.state.step, "context": ctx.to_json(),
               "public_signals": {k: str(v) for k, v in res.expected.public_dict().items()},
               "sigma": [a.sigma / 2**32 for a in up.assets],
               "seconds": {"witness": round(res.witness_seconds, 3), "prove": round(res.prove_seconds, 3)}}
        if as_json:
            emit_json(out)
            return
        p = mf.params
        table(f"calcm model-update: step {up.state.step} proven in {out_dir}",
              ["asset", "price", "return", "sigma (daily)", "worst scenario move"],
              [[a, prices[u] / 1e6, up.assets[u].eps / 2**40, up.assets[u].sigma / 2**32,
                min(row[u] for row in up.lin) / 1e6] for u, a in enumerate(p.assets)])
        for k, v in out["public_signals"].items():
            console.print(f"{k} {v}")
        console.print(f"witness {res.witness_seconds:.2f} s, prove {res.prove_seconds:.2f} s")

    @main.command("model-tables")
    @click.option("--check", is_flag=True, help="only check that the generated file is current")
    def model_tables_cmd(check):
        """Regenerate circuits/model/tables.circom (polynomial tables, domain tags)."""
        from ..zk.model_circuit import TABLES_FILE, check_tables, write_tables

        if check:
            check_tables()
            console.print(f"{TABLES_FILE} is current")
            return
        changed = write_tables()
        console.print(f"{TABLES_FILE} {'written' if changed else 'already current'}")

    @bench.command("model")
    @click.option("--assets", type=int, default=8, show_default=True)
    @click.option("--scenarios", type=int, default=256, show_default=True)
    @click.option("--options", "option_counts", default="0,16,64", show_default=True,
                  help="comma-separated option-series counts")
    @click.option("--compile-max", type=int, default=600_000, show_default=True,
                  help="compile a bench configuration only if its predicted size is below this")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def bench_model_cmd(assets, scenarios, option_counts, compile_max, as_json):
        """Constraints and proving time of the model update (8 assets x 256 scenarios x 0/16/64 options)."""
        from ..zk.model_bench import bench_model

        report = bench_model(assets, scenarios, [int(x) for x in _csv(option_counts) or ["0"]],
                             compile_max=compile_max)
        if as_json:
            emit_json(report)
            return
        table("calcm bench model", ["config", "constraints", "measured", "ptau power", "prove s",
                                    "prove measured"],
              [[r["name"], f"{r['constraints']:,}", "compiled" if r["compiled"] else "predicted",
                r["min_ptau_power"], r["prove_seconds"], "yes" if r["prove_measured"] else "extrapolated"]
               for r in report["configs"]])
        for note in report["notes"]:
            console.print(note)
