"""CLI commands of the zk stage: ``setup``, ``prove``, ``verify`` and ``bench prove``."""
from __future__ import annotations

from pathlib import Path

import click

from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES, REPO_ROOT, default_build_dir
from .output import console, emit_json, table
from .progress import enabled_for, step

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
    @click.option("--mode", type=click.Choice(["auto", "dev", "ceremony"]), default="auto", show_default=True,
                  help="dev: groth16py single-party setup, no ptau, any size, INSECURE; ceremony: snarkjs "
                       "zkey over a ptau (+ contributions + beacon); auto: ceremony if --ptau is given or "
                       "the circuit fits a power-13 dev ptau, else dev")
    @click.option("--ptau", type=click.Path(path_type=Path), default=None,
                  help="ceremony powers-of-tau file (verified before use); default: cached dev file")
    @click.option("--contribute", "contributions", multiple=True, metavar="ENTROPY",
                  help="ceremony mode: a secret phase-2 contribution (repeatable), before the beacon")
    @click.option("--build", "build_dir", type=click.Path(path_type=Path), default=None,
                  help="build directory (default: build/<config>)")
    @click.option("--force", is_flag=True, help="rebuild even if the build is up to date")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def setup_cmd(config_name, mode, ptau, contributions, build_dir, force, as_json):
        """Compile the margin circuit, run the Groth16 setup, export the verification key and verifier."""
        from ..zk.config import CONFIGS
        from ..zk.setup import setup

        with step(f"calcm setup {config_name}: compile + Groth16 setup", enabled=enabled_for(as_json)):
            build, reused = setup(CONFIGS[config_name], build_dir or _default_build(config_name), ptau,
                                  mode=mode, contributions=tuple(contributions), reuse=not force)
        m = build.manifest
        out = {"build": str(build.dir), "reused": reused, "mode": build.mode, "security": build.security,
               "config": m["config"], "constraints": m["r1cs"]["constraints"], "ptau": m["ptau"],
               "r1cs_sha256": m["r1cs"]["sha256"], "zkey_sha256": m["zkey"]["sha256"],
               "proving_key_sha256": build.proving_key_sha256,
               "vkey_sha256": m["vkey_sha256"], "source_hash": m["source_hash"],
               "dev_only": m["dev_only"], "warning": m["warning"], "seconds": m["seconds"]}
        if as_json:
            emit_json(out)
            return
        ptau_row = (f"power {m['ptau']['power']} ({m['ptau']['source']}) {m['ptau']['sha256'][:16]}"
                    if m["ptau"].get("sha256") else "none (dev single-party setup)")
        table(f"calcm setup ({'up to date' if reused else 'built'}): {build.dir}", ["item", "value"],
              [["mode", build.mode], ["SECURITY", build.security.upper() if m["dev_only"] else build.security],
               ["config", ", ".join(f"{k}={v}" for k, v in m["config"].items())],
               ["constraints", f"{m['r1cs']['constraints']:,}"],
               ["ptau", ptau_row],
               ["r1cs sha256", m["r1cs"]["sha256"][:16]],
               ["proving key sha256", build.proving_key_sha256[:16]],
               ["vkey sha256", m["vkey_sha256"][:16]],
               ["source hash", m["source_hash"][:16]],
               ["warning", m["warning"] if m["dev_only"] else "-"]])

    @main.command("prove")
    @click.option("--market", type=click.Path(path_type=Path), default=DEFAULT_MARKET, show_default=True)
    @click.option("--volumes", type=click.Path(path_type=Path), default=None,
                  help="USD daily volumes (default: the bundled ones with the bundled market)")
    @click.option("--portfolios", type=click.Path(path_type=Path), default=DEFAULT_BOOK, show_default=True,
                  help="book JSON (instruments, collateral, accounts)")
    @click.option("--asof", default=None, help="model date YYYY-MM-DD (default: last date)")
    @click.option("--es-level", type=float, default=0.99, show_default=True, help="ES confidence level")
    @click.option("--build", "build_dir", type=click.Path(path_type=Path), default=None,
                  help="build directory from `calcm setup` for this model's structure "
                       "(default: a cached build of the published model's shape)")
    @click.option("--batch", "batch_size", type=int, default=None,
                  help="accounts per batch proof N, a power of two (default: calcm.zk.config.DEFAULT_N)")
    @click.option("--depth", type=int, default=None, help="accounts-tree depth D (default: calcm.zk.config.DEFAULT_D)")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
                  help="output directory (default: out/proofs)")
    @click.option("--chain-id", type=int, default=31337, show_default=True)
    @click.option("--registry", default="0x" + "00" * 20, show_default=True, help="registry address")
    @click.option("--block", type=int, default=1, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def prove_cmd(market, volumes, portfolios, asof, es_level, build_dir, batch_size, depth, out_dir,
                  chain_id, registry, block, as_json):
        """Prove the published margin and tier of every account of the book (docs/PROVING.md)."""
        from ..errors import InputError
        from ..market import load_market
        from ..risk.book import load_book
        from ..risk.fixed_margin import encode_book_accounts
        from ..risk.model import ModelParams
        from ..risk.published import published_model
        from ..zk.config import DEFAULT_D, DEFAULT_N, check_fits, config_for_model
        from ..zk.prove import ContextInfo, prove_accounts
        from ..zk.setup import Build, cached_build

        if volumes is None and Path(market).resolve() == DEFAULT_MARKET.resolve():
            volumes = DEFAULT_VOLUMES
        if batch_size is not None and batch_size & (batch_size - 1):
            raise InputError("command line", "--batch", "-", f"{batch_size} is not a power of two")
        book = load_book(portfolios)
        accounts = encode_book_accounts(book)
        build = None
        if build_dir is not None:
            build = Build.load(build_dir)
            build.check_files()
        # The tree's capacity is known before the model: check it first (no model fit wasted).
        d = build.config.D if build is not None else depth or DEFAULT_D
        if len(accounts) > 2 ** d:
            circuit = f"circuit {build.config.name!r}'s" if build is not None else "the"
            raise InputError(str(portfolios), "-", "accounts",
                             f"{len(accounts)} accounts exceed {circuit} tree of depth {d} ({2 ** d} leaves)")
        md = load_market(market, volumes)
        with step("fitting the published model", enabled=enabled_for(as_json)):
            pm = published_model(md, book, ModelParams(es_level=es_level), asof)
        if build is None:
            with step("margin circuit build (cached by source hash)", enabled=enabled_for(as_json)):
                build = cached_build(config_for_model(pm.model, batch_size or DEFAULT_N, depth or DEFAULT_D))
        check_fits(pm.model, build.config, len(accounts), source=str(build.dir))
        out = out_dir or (REPO_ROOT / "out" / "proofs")
        with step(f"proving {len(accounts)} accounts", enabled=enabled_for(as_json)):
            summary = prove_accounts(build, pm.model, accounts, [a.id for a in book.accounts], out,
                                     ContextInfo(chain_id, registry, block),
                                     extra_summary={"published_model": pm.summary()})
        summary["out"] = str(out)
        if as_json:
            emit_json(summary)
            return
        table(f"calcm prove: {len(summary['groups'])} batch proofs in {out}",
              ["account", "leaf", "group", "tier", "ES", "MM", "IM", "equity"],
              [[a["id"], a["leaf"], a["group"], TIER_NAMES[a["tier"]], _usd(a["es"]), _usd(a["mm"]),
                _usd(a["im"]), _usd(a["equity"])] for a in summary["accounts"]])
        console.print(f"accounts root {summary['accounts_root']}\n"
                      f"lin commitment {summary['lin_commitment']}\n"
                      f"opt commitment {summary['opt_commitment']}\n"
                      f"witness {summary['seconds']['witness']:.2f} s, prove {summary['seconds']['prove']:.2f} s")

    @main.command("verify")
    @click.argument("proof_dir", type=click.Path(path_type=Path))
    @click.option("--build", "build_dir", type=click.Path(path_type=Path), default=None,
                  help="pin the key: this build's verification key (checked against its manifest)")
    @click.option("--vkey-hash", default=None, metavar="SHA256",
                  help="pin the key: the sha256 the proof directory's verification_key.json must have")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def verify_cmd(proof_dir, build_dir, vkey_hash, as_json):
        """Verify every proof under PROOF_DIR with snarkjs and py_ecc, against a pinned key.

        Without --build or --vkey-hash, the key is the one of the build named in each proof
        directory's batch.json / update.json, and only if that build's manifest still hashes
        to the recorded value. A key that is not the pinned one, or an invalid proof, exits 3.
        """
        import sys

        from ..zk.verify import KeyPinError, verify_pinned

        try:
            results = verify_pinned(proof_dir, build_dir, vkey_hash)
        except KeyPinError as exc:
            click.echo(f"calcm: key mismatch: {exc}", err=True)
            sys.exit(3)
        ok = all(r.ok for r in results)
        if as_json:
            emit_json({"ok": ok, "proofs": [r.to_json() for r in results]})
        else:
            table(f"calcm verify {proof_dir}: {'OK' if ok else 'INVALID'}",
                  ["proof", "snarkjs", "py_ecc", "snarkjs s", "py_ecc s", "vkey", "pinned by"],
                  [[str(r.dir), r.snarkjs_ok, r.pyecc_ok, r.snarkjs_seconds, r.pyecc_seconds,
                    r.vkey_sha256[:12], r.pinned_by] for r in results])
        if not ok:
            sys.exit(3)

    @bench.command("prove")
    @click.option("--configs", default="small,bench", show_default=True,
                  help="comma-separated configs to measure")
    @click.option("--backend", "backend", type=click.Choice(["snarkjs", "arkworks", "both"]), default="both",
                  show_default=True, help="prove the same witness from the same zkey with these backends")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def bench_prove_cmd(configs, backend, as_json):
        """Constraints, cost per account-scenario, witness / proving / verify time, proof size."""
        from ..zk.bench import bench_prove

        backends = ["snarkjs", "arkworks"] if backend == "both" else [backend]
        report = bench_prove(_csv(configs) or ["small"], backends)
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
        cmp_rows = [[r["config"], *[r["backend_comparison"]["seconds"].get(b, "-") for b in ("snarkjs", "arkworks")],
                     r["backend_comparison"].get("arkworks_import_seconds", "-"),
                     r["backend_comparison"].get("arkworks_speedup", "-")]
                    for r in report["configs"] if "backend_comparison" in r]
        if cmp_rows:
            table("backends (same zkey, same witness, same run)",
                  ["config", "snarkjs prove s", "arkworks prove s", "arkworks import s", "speedup"], cmp_rows)
        for note in report.get("notes", []):
            console.print(note)
