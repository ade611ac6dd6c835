"""CLI commands of the zk stage: ``setup``, ``prove``, ``verify`` and ``bench prove``."""
from __future__ import annotations

from pathlib import Path

import click

from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES, REPO_ROOT, default_build_dir
from .output import console, emit_json, table

TIER_NAMES = {0: "healthy", 1: "warning", 2: "no-new-risk", 3: "liquidatable"}


def _default_build(config: str = "small") -> Path:
    return default_build_dir() / config


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _usd(v: int) -> float:
    from ..fixedpoint import MONEY_SCALE
    return v / MONEY_SCALE


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

    @main.command("setup")
    @click.option("--config", "config_name", type=click.Choice(["small", "bench"]), default="small",
                  show_default=True, help="circuit configuration (calcm.zk.config)")
    @click.option("--ptau", type=click.Path(path_type=Path), default=None,
                  help="ceremony powers-of-tau file (verified before use); default: cached dev file")
    @click.option("--build", "build_dir", type=click.Path(path_type=Path), default=None,
                  help="build directory (default: build/<config>)")
    @click.option("--force", is_flag=True, help="rebuild even if the build is up to date")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def setup_cmd(config_name, ptau, build_dir, force, as_json):
        """Compile the margin circuit, run Groth16 setup (dev beacon), export the verification key."""
        from ..zk.config import CONFIGS
        from ..zk.setup import setup

        build, reused = setup(CONFIGS[config_name], build_dir or _default_build(config_name), ptau,
                              reuse=not force)
        m = build.manifest
        out = {"build": str(build.dir), "reused": reused, "config": m["config"],
               "constraints": m["r1cs"]["constraints"], "ptau": m["ptau"],
               "r1cs_sha256": m["r1cs"]["sha256"], "zkey_sha256": m["zkey"]["sha256"],
               "vkey_sha256": m["vkey_sha256"], "source_hash": m["source_hash"],
               "dev_only": m["dev_only"], "seconds": m["seconds"]}
        if as_json:
            emit_json(out)
            return
        table(f"calcm setup ({'up to date' if reused else 'built'}): {build.dir}", ["item", "value"],
              [["config", ", ".join(f"{k}={v}" for k, v in m["config"].items())],
               ["constraints", f"{m['r1cs']['constraints']:,}"],
               ["ptau", f"power {m['ptau']['power']} ({m['ptau']['source']}) {m['ptau']['sha256'][:16]}"],
               ["r1cs sha256", m["r1cs"]["sha256"][:16]], ["zkey sha256", m["zkey"]["sha256"][:16]],
               ["source hash", m["source_hash"][:16]],
               ["warning", "dev-only zkey (public beacon)" if m["dev_only"] else "-"]])

    @main.command("prove")
    @click.option("--market", type=click.Path(path_type=Path), default=DEFAULT_MARKET, show_default=True)
    @click.option("--volumes", type=click.Path(path_type=Path), default=None,
                  help="USD daily volumes (default: the bundled ones with the bundled market)")
    @click.option("--portfolios", type=click.Path(path_type=Path), default=DEFAULT_BOOK, show_default=True,
                  help="book JSON (instruments, collateral, accounts)")
    @click.option("--build", "build_dir", type=click.Path(path_type=Path), default=None,
                  help="build directory from `calcm setup` (default: build/small)")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
                  help="output directory (default: out/proofs)")
    @click.option("--instruments", default=None,
                  help="comma-separated instrument ids of the circuit's sub-book (default: the first n)")
    @click.option("--collateral", default=None,
                  help="comma-separated collateral assets of the sub-book (default: the first m)")
    @click.option("--chain-id", type=int, default=31337, show_default=True)
    @click.option("--registry", default="0x" + "00" * 20, show_default=True, help="registry address")
    @click.option("--block", type=int, default=1, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def prove_cmd(market, volumes, portfolios, build_dir, out_dir, instruments, collateral,
                  chain_id, registry, block, as_json):
        """Prove the margins and tiers of every account of the book, one batch per group."""
        from ..market import load_market
        from ..risk.book import load_book
        from ..zk.prove import ContextInfo, prove_accounts
        from ..zk.setup import Build
        from ..zk.subbook import circuit_book

        build = Build.load(build_dir or _default_build())
        build.check_files()
        if volumes is None and Path(market).resolve() == DEFAULT_MARKET.resolve():
            volumes = DEFAULT_VOLUMES
        md = load_market(market, volumes)
        book = load_book(portfolios)
        cb = circuit_book(md, book, build.config, _csv(instruments), _csv(collateral))
        out = out_dir or (REPO_ROOT / "out" / "proofs")
        summary = prove_accounts(build, cb.model, cb.accounts, cb.names, out,
                                 ContextInfo(chain_id, registry, block),
                                 extra_summary={"sub_book": cb.summary()})
        summary["out"] = str(out)
        if as_json:
            emit_json(summary)
            return
        table(f"calcm prove: {len(summary['groups'])} batch proofs in {out}",
              ["account", "leaf", "group", "tier", "ES", "MM", "IM", "equity"],
              [[a["id"], a["leaf"], a["group"], TIER_NAMES[a["tier"]], _usd(a["es"]), _usd(a["mm"]),
                _usd(a["im"]), _usd(a["equity"])] for a in summary["accounts"]])
        for acc_id, reason in cb.skipped:
            console.print(f"skipped {acc_id}: {reason}")
        console.print(f"accounts root {summary['accounts_root']}\n"
                      f"scenario commitment {summary['scenario_commitment']}\n"
                      f"witness {summary['seconds']['witness']:.2f} s, prove {summary['seconds']['prove']:.2f} s")

    @main.command("verify")
    @click.argument("proof_dir", type=click.Path(path_type=Path))
    @click.option("--build", "build_dir", type=click.Path(path_type=Path), default=None,
                  help="verify against this build's verification key (default: the key in each proof dir)")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def verify_cmd(proof_dir, build_dir, as_json):
        """Verify every proof under PROOF_DIR with snarkjs and with the py_ecc verifier."""
        from ..zk.setup import Build
        from ..zk.verify import verify_path

        vkey = Build.load(build_dir).vkey_path if build_dir is not None else None
        results = verify_path(proof_dir, vkey)
        ok = all(r.ok for r in results)
        if as_json:
            emit_json({"ok": ok, "proofs": [r.to_json() for r in results]})
        else:
            table(f"calcm verify {proof_dir}: {'OK' if ok else 'INVALID'}",
                  ["proof", "snarkjs", "py_ecc", "snarkjs s", "py_ecc s", "vkey"],
                  [[str(r.dir), r.snarkjs_ok, r.pyecc_ok, r.snarkjs_seconds, r.pyecc_seconds,
                    r.vkey_sha256[:12]] for r in results])
        if not ok:
            raise SystemExit(1)

    @bench.command("prove")
    @click.option("--configs", default="small,bench", show_default=True,
                  help="comma-separated configs to measure")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def bench_prove_cmd(configs, as_json):
        """Constraints, cost per account-scenario, witness / proving / verify time, proof size."""
        from ..zk.bench import bench_prove

        report = bench_prove(_csv(configs) or ["small"])
        if as_json:
            emit_json(report)
            return
        rows = []
        for r in report["configs"]:
            rows.append([r["config"], f"{r['constraints']:,}", r["constraints_per_account_scenario"],
                         r["witness_seconds"], r["prove_seconds"],
                         "yes" if r.get("prove_extrapolated") else "no",
                         r.get("verify_seconds", {}).get("snarkjs", "-"),
                         r.get("verify_seconds", {}).get("py_ecc", "-"), r["proof_bytes"]])
        table("calcm bench prove", ["config", "constraints", "per acct-scen", "witness s", "prove s",
                                    "extrapolated", "verify snarkjs s", "verify py_ecc s", "proof bytes"], rows)
        for note in report.get("notes", []):
            console.print(note)
