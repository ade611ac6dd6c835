"""CLI commands of the chain stage: ``chain deploy|submit|status|verifiers|node``, ``bench gas``.

Every command takes ``--rpc URL`` (any JSON-RPC node with unlocked accounts, e.g. a
persistent ``calcm chain node``); without it ``deploy`` starts an embedded anvil that
exits with the command, so its deployment is only a smoke test. ``submit`` and ``status``
need a live node: ``--rpc`` or the ``rpc`` recorded in the deployment file.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ..errors import InputError
from ..paths import REPO_ROOT, default_build_dir
from .output import console, emit_json, table

DEFAULT_DEPLOYMENT = REPO_ROOT / "out" / "deployment.json"

rpc_opt = click.option("--rpc", default=None, metavar="URL",
                       help="JSON-RPC node (default: an embedded anvil for deploy; the "
                            "deployment's rpc for submit/status)")
json_opt = click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
deployment_opt = click.option("--deployment", type=click.Path(path_type=Path),
                              default=DEFAULT_DEPLOYMENT, show_default=True,
                              help="deployment file written by `calcm chain deploy`")


def _csv(value: str | None, cast, name: str) -> list | None:
    if value is None:
        return None
    try:
        return [cast(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise InputError("command line", name, "-", f"cannot parse {value!r}") from None


def _live_web3(rpc: str | None, dep):
    from ..chain.anvil import rpc_ready
    from ..chain.evm import http_web3
    url = rpc or (dep.rpc if dep else None)
    if not url:
        raise InputError("deployment", "-", "rpc", "was made on an embedded anvil that has exited; "
                         "deploy with --rpc URL (e.g. to `calcm chain node`) or pass --rpc")
    if not rpc_ready(url, timeout=5):
        raise InputError("--rpc", url, "-", "node does not answer JSON-RPC")
    return http_web3(url)


def _margin_build(path: Path):
    from ..zk.setup import Build
    return Build.load(path)


def generate_verifiers(build: Path, model_build: Path | None, out_dir: Path) -> dict:
    """Write the generated verifiers of ``build`` (and ``model_build``) plus a manifest."""
    from .. import atomic
    from ..chain.contracts import generate_verifier
    from ..zk.ptau import sha256_file
    b = _margin_build(build)
    entries = {}
    name = f"MarginVerifier_{b.config.name}"
    path = generate_verifier(b.zkey, name, out_dir)
    # Machine-independent provenance (the zkey is reproducible from the sources and the ptau).
    entries[path.name] = {"kind": "margin", "config": b.config.name, "group_size": b.config.N,
                          "source_hash": b.manifest["source_hash"],
                          "zkey_sha256": sha256_file(b.zkey)}
    if model_build is not None:
        zkeys = sorted(Path(model_build).glob("*.zkey"))
        if len(zkeys) != 1:
            raise InputError(str(model_build), "-", "zkey", f"expected one .zkey, found {len(zkeys)}")
        path = generate_verifier(zkeys[0], "ModelVerifier", out_dir)
        entries[path.name] = {"kind": "model", "zkey_sha256": sha256_file(zkeys[0])}
    manifest = {"generated_by": "calcm chain verifiers (snarkjs zkey export solidityverifier)",
                "do_not_edit": True, "files": entries}
    old = out_dir / "manifest.json"
    if old.exists():  # keep the entries of verifiers generated from other builds
        manifest["files"] = {**json.loads(old.read_text()).get("files", {}), **entries}
    atomic.write_json(out_dir / "manifest.json", manifest)
    return {"out_dir": str(out_dir), "build": str(b.dir), "model_build": str(model_build or ""),
            "files": entries}


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

    @chain.command("verifiers")
    @click.option("--build", type=click.Path(path_type=Path), default=None,
                  help="margin build dir (default: build/small, as `calcm setup`)")
    @click.option("--model-build", type=click.Path(path_type=Path), default=None,
                  help="model-update build dir holding one .zkey")
    @click.option("--out", type=click.Path(path_type=Path), default=None,
                  help="output dir (default: verifier_contracts/generated)")
    @json_opt
    def verifiers_cmd(build, model_build, out, as_json):
        """Regenerate the Groth16 verifiers from the builds' zkeys (snarkjs, never edited)."""
        from ..chain.contracts import GENERATED
        res = generate_verifiers(build or default_build_dir() / "small", model_build, out or GENERATED)
        if as_json:
            emit_json(res)
            return
        table("generated verifiers", ["file", "kind", "zkey sha256"],
              [[f, e["kind"], e["zkey_sha256"][:16]] for f, e in res["files"].items()])

    @chain.command("deploy")
    @click.option("--build", type=click.Path(path_type=Path), default=None,
                  help="margin build dir (default: build/small, as `calcm setup`)")
    @click.option("--model-build", type=click.Path(path_type=Path), default=None,
                  help="model-update build; without it model updates are attested by governance")
    @rpc_opt
    @click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_DEPLOYMENT,
                  show_default=True, help="deployment file to write")
    @click.option("--n-assets", type=int, default=None,
                  help="priced assets (default: the number of --prices or --feeds, else 1)")
    @click.option("--prices", default=None, help="initial USD prices of local MockPriceFeeds (a,b,..)")
    @click.option("--feeds", default=None, help="existing AggregatorV3 feed addresses (a,b,..)")
    @click.option("--param-hash", type=int, default=0, help="model-parameter hash (0: unset)")
    @click.option("--genesis-state", type=int, default=0, help="genesis model state (0: unset)")
    @click.option("--max-age", type=int, default=None, help="blocks a proof stays fresh")
    @click.option("--max-price-age", type=int, default=None, help="seconds a feed answer stays usable")
    @click.option("--verifiers-dir", type=click.Path(path_type=Path), default=None,
                  help="where to write generated verifiers (default: verifier_contracts/generated)")
    @json_opt
    def deploy_cmd(build, model_build, rpc, out, n_assets, prices, feeds, param_hash,
                   genesis_state, max_age, max_price_age, verifiers_dir, as_json):
        """Deploy the verifiers, the registry and (local) price feeds; write a deployment file."""
        from ..chain import registry as regmod
        from ..chain.anvil import Anvil
        from ..chain.contracts import GENERATED, compile_verifier
        from ..chain.evm import http_web3
        build = build or default_build_dir() / "small"
        price_list = _csv(prices, float, "--prices")
        feed_list = _csv(feeds, str, "--feeds")
        n_assets = n_assets or len(feed_list or price_list or [0])
        for name, lst in (("--prices", price_list), ("--feeds", feed_list)):
            if lst is not None and len(lst) != n_assets:
                raise InputError("command line", name, "-", f"{len(lst)} values for {n_assets} assets")
        from web3 import Web3
        for i, f in enumerate(feed_list or []):
            if not Web3.is_address(f):
                raise InputError("command line", "--feeds", f"feed {i}", f"{f!r} is not an address")
        for i, p in enumerate(price_list or []):
            if not p > 0:
                raise InputError("command line", "--prices", f"price {i}", f"{p} is not positive")
        if rpc:
            _live_web3(rpc, None)
        b = _margin_build(build)
        gen = generate_verifiers(build, model_build, verifiers_dir or GENERATED)
        files = {e["kind"]: Path(gen["out_dir"]) / f for f, e in gen["files"].items()}
        margin_art = compile_verifier(files["margin"])
        model_art = compile_verifier(files["model"]) if model_build else None
        node = None if rpc else Anvil().start()
        try:
            w3 = http_web3(rpc or node.url)
            kw = {}
            if max_age is not None:
                kw["max_age"] = max_age
            if max_price_age is not None:
                kw["max_price_age"] = max_price_age
            _, dep = regmod.deploy(
                w3, margin_art, model_verifier=model_art, n_assets=n_assets, group_size=b.config.N,
                feeds=feed_list, initial_prices=price_list, param_hash=param_hash,
                genesis_state=genesis_state, rpc=rpc, embedded=rpc is None,
                builds={"margin": {"dir": str(b.dir), "manifest_sha256": b.manifest_hash},
                        "model": str(model_build) if model_build else None}, **kw)
        finally:
            if node:
                node.stop()
        regmod.write_deployment(out, dep)
        doc = {"deployment_file": str(out), **dep.to_json()}
        if as_json:
            emit_json(doc)
            return
        rows = [["registry", dep.registry], ["margin verifier", dep.margin_verifier],
                ["model verifier", dep.model_verifier or "none (attested mode)"],
                ["group size N", dep.group_size], ["assets", dep.n_assets],
                ["chain id", dep.chain_id], ["node", dep.node],
                ["rpc", dep.rpc or "embedded anvil (exited)"], ["deployment file", str(out)]]
        rows += [[f"gas: {k}", f"{v:,}"] for k, v in dep.gas.items()]
        table("calcm chain deploy", ["what", "value"], rows)

    @chain.command("submit")
    @click.argument("proof_dir", type=click.Path(path_type=Path))
    @deployment_opt
    @rpc_opt
    @click.option("--block", type=int, default=None,
                  help="block the proof is for (default: recovered from its context signal)")
    @json_opt
    def submit_cmd(proof_dir, deployment, rpc, block, as_json):
        """Submit a prove out dir: one batch dir (proof.json + public.json; a margin batch or a
        model update) or a `calcm prove` out dir (each group-XXXX in turn)."""
        from ..chain import registry as regmod
        dep = regmod.read_deployment(deployment)
        dirs = regmod.batch_dirs(proof_dir)
        reg = regmod.attach(_live_web3(rpc, dep), dep)
        done = []
        for d in dirs:
            try:
                done.append(regmod.submit_proof_dir(reg, d, block))
            except (regmod.SubmissionError, regmod.RegistryRevert) as exc:
                raise InputError(str(d), "proof", "-", str(exc)) from None
        res = done[0] if dirs == [proof_dir] else {"submitted": done}
        if as_json:
            emit_json(res)
            return
        table("calcm chain submit", ["dir", "kind", "block", "group / state", "gas"],
              [[str(d), r["kind"], r["block"], r.get("group", r.get("new_state")),
                f"{r['gas_used']:,}"] for d, r in zip(dirs, done)])

    @chain.command("status")
    @click.argument("account", required=False)
    @deployment_opt
    @rpc_opt
    @json_opt
    def status_cmd(account, deployment, rpc, as_json):
        """Registry state, and one account's proven health."""
        from web3 import Web3

        from ..chain import registry as regmod
        dep = regmod.read_deployment(deployment)
        reg = regmod.attach(_live_web3(rpc, dep), dep)
        doc = {"registry": reg.state()}
        if account is not None:
            if not Web3.is_address(account):
                raise InputError("command line", "ACCOUNT", "-", f"{account!r} is not an address")
            doc["account"] = reg.health(account)
        if as_json:
            emit_json(doc)
            return
        table("registry", ["field", "value"], [[k, str(v)] for k, v in doc["registry"].items()])
        if account is not None:
            table("account", ["field", "value"], [[k, str(v)] for k, v in doc["account"].items()])

    @chain.command("node")
    @click.option("--port", type=int, default=8545, show_default=True)
    @click.option("--hardfork", default=None, help="anvil hardfork (default: calcm's pinned one)")
    @click.option("--block-time", type=float, default=None, help="seconds per block (default: auto-mine)")
    @json_opt
    def node_cmd(port, hardfork, block_time, as_json):
        """Run a persistent anvil on 127.0.0.1 until interrupted (for deploy/submit --rpc)."""
        import signal

        from ..chain.anvil import DEFAULT_HARDFORK, Anvil

        def _stop(signum, frame):
            raise KeyboardInterrupt
        # SIGTERM (and SIGINT, which a shell ignores in background jobs) stop the node cleanly.
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        with Anvil(port=port, hardfork=hardfork or DEFAULT_HARDFORK, block_time=block_time) as node:
            if as_json:
                emit_json({"rpc": node.url, "hardfork": node.hardfork, "chain_id": node.chain_id})
            else:
                console.print(f"anvil {node.hardfork} on {node.url} (chain {node.chain_id}); Ctrl-C stops")
            sys.stdout.flush()
            try:
                while node.proc is not None and node.proc.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass

    @bench.command("gas")
    @click.option("--sizes", default="1,4,16", show_default=True, help="batch sizes N")
    @click.option("--n-assets", type=int, default=8, show_default=True,
                  help="assets of the model update (K = ceil(n/5) packed-price signals)")
    @click.option("--max-power", type=int, default=13, show_default=True,
                  help="largest ptau power to build real margin circuits with; larger N use "
                       "a 4-signal stand-in verifier (same verification gas)")
    @click.option("--no-pyevm", is_flag=True, help="measure on anvil only")
    @json_opt
    def gas_cmd(sizes, n_assets, max_power, no_pyevm, as_json):
        """Gas to verify and record a margin batch and a model update, on anvil and py-evm."""
        from ..chain.gasbench import run_gas_bench
        sizes_l = _csv(sizes, int, "--sizes")
        res = run_gas_bench(sizes_l, n_assets=n_assets, max_power=max_power, pyevm=not no_pyevm,
                            log=None if as_json else console.print)
        if as_json:
            emit_json(res)
            return
        rows = []
        for r in res["margin"]:
            rows.append([r["evm"], r["N"], r["verifier"], f"{r['verify_tx_gas']:,}",
                         f"{r['batch_gas_first']:,}", f"{r['batch_gas_update']:,}",
                         f"{r['per_account_first']:,.0f}", f"{r['record_per_account_update']:,.0f}",
                         f"{r['floor']:,}"])
        table("margin batch gas", ["evm", "N", "verifier", "verify tx", "batch (1st)",
                                   "batch (update)", "per acct (1st)", "record/acct (upd)",
                                   "floor"], rows)
        table("model update gas", ["evm", "signals", "verify tx", "update", "floor"],
              [[r["evm"], r["signals"], f"{r['verify_tx_gas']:,}", f"{r['update_gas']:,}",
                f"{r['floor']:,}"] for r in res["model"]])
        console.print(res["notes"])
