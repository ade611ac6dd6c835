"""CLI commands of the chain stage: ``chain deploy|post-root|submit|status|verifiers|node``,
``bench gas``.

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

from ..errors import InputError, UnavailableError
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
        raise UnavailableError(f"--rpc {url}", "node does not answer JSON-RPC (start one: `calcm chain node`)")
    return http_web3(url)


def _margin_build(path: Path):
    from ..zk.setup import Build
    return Build.load(path)


MODEL_KINDS = ("step", "reval", "option")


def _model_build_dirs(path: Path | None) -> dict[str, Path]:
    """``--model-builds FILE``: JSON naming the ``step``, ``reval`` and (with options)
    ``option`` build dirs (the demo's and keeper's builds file; a deployment's ``builds``)."""
    if path is None:
        return {}
    try:
        obj = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"line {exc.lineno}", "-", f"not JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise InputError(str(path), "-", "-", "expected an object of build dirs")
    for k in ("step", "reval"):
        if not obj.get(k):
            raise InputError(str(path), "builds", k, "missing")
    return {k: Path(obj[k]) for k in MODEL_KINDS if obj.get(k)}


def _verifier_source(build_dir: Path, name: str, out_dir: Path) -> tuple[Path, dict]:
    """The Groth16 verifier of a build dir, written to ``out_dir/<name>.sol``: the
    ``verifier.sol`` every calcm build ships (rendered from its verification key), or the
    snarkjs export of the dir's single ``.zkey`` (PLACEHOLDER builds)."""
    from .. import atomic
    from ..chain.contracts import generate_verifier
    from ..zk.ptau import sha256_file
    build_dir = Path(build_dir)
    if (build_dir / "manifest.json").exists():
        b = _margin_build(build_dir)
        path = out_dir / f"{name}.sol"
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, b.verifier_sol.read_text())
        return path, {"source_hash": b.manifest["source_hash"], "vkey_sha256": b.vkey_sha256,
                      "security": b.security}
    zkeys = sorted(build_dir.glob("*.zkey"))
    zkeys = [z for z in zkeys if not z.name.startswith("p0")] or zkeys
    if len(zkeys) != 1:
        raise InputError(str(build_dir), "-", "zkey", f"expected one .zkey, found {len(zkeys)}")
    return generate_verifier(zkeys[0], name, out_dir), {"zkey_sha256": sha256_file(zkeys[0])}


def generate_verifiers(build: Path, model_builds: dict[str, Path], out_dir: Path) -> dict:
    """Write the verifiers of the margin ``build`` and the ``model_builds`` plus a manifest."""
    from .. import atomic
    b = _margin_build(build)
    entries = {}
    path, prov = _verifier_source(build, f"MarginVerifier_{b.config.name}", out_dir)
    entries[path.name] = {"kind": "margin", "config": b.config.name, "group_size": b.config.N,
                          **prov}
    for kind, d in model_builds.items():
        path, prov = _verifier_source(d, f"Model{kind.capitalize()}Verifier", out_dir)
        entries[path.name] = {"kind": kind, **prov}
    manifest = {"generated_by": "calcm chain verifiers (each build's verifier.sol, or snarkjs "
                                "zkey export solidityverifier)", "do_not_edit": True, "files": entries}
    old = out_dir / "manifest.json"
    if old.exists():  # keep the entries of verifiers generated from other builds
        manifest["files"] = {**json.loads(old.read_text()).get("files", {}), **entries}
    atomic.write_json(out_dir / "manifest.json", manifest)
    return {"out_dir": str(out_dir), "build": str(b.dir),
            "model_builds": {k: str(v) for k, v in model_builds.items()}, "files": entries}


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

    @chain.command("verifiers")
    @click.option("--build", type=click.Path(path_type=Path), default=None,
                  help="margin build dir (default: build/small, as `calcm setup`)")
    @click.option("--model-builds", type=click.Path(path_type=Path), default=None,
                  help="JSON naming the step, reval and option build dirs")
    @click.option("--out", type=click.Path(path_type=Path), default=None,
                  help="output dir (default: verifier_contracts/generated)")
    @json_opt
    def verifiers_cmd(build, model_builds, out, as_json):
        """Write the Groth16 verifiers of the builds (never edited by hand)."""
        from ..chain.contracts import GENERATED
        res = generate_verifiers(build or default_build_dir() / "small",
                                 _model_build_dirs(model_builds), out or GENERATED)
        if as_json:
            emit_json(res)
            return
        table("generated verifiers", ["file", "kind", "key hash"],
              [[f, e["kind"], (e.get("vkey_sha256") or e.get("zkey_sha256") or "-")[:16]]
               for f, e in res["files"].items()])

    @chain.command("deploy")
    @click.option("--build", type=click.Path(path_type=Path), default=None,
                  help="margin build dir (default: build/small, as `calcm setup`)")
    @click.option("--model-builds", type=click.Path(path_type=Path), default=None,
                  help="JSON naming the step, reval and option build dirs; without it the "
                       "registry takes no model proof until governance sets the verifiers")
    @click.option("--model", "model_file", type=click.Path(path_type=Path), default=None,
                  help="model file (`calcm model-init`): parameter hash, genesis state and day, "
                       "option parts, and the feeds' initial prices")
    @rpc_opt
    @click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_DEPLOYMENT,
                  show_default=True, help="deployment file to write")
    @click.option("--n-assets", type=int, default=None,
                  help="priced assets (default: the model's, else the number of --prices or --feeds, else 1)")
    @click.option("--prices", default=None, help="initial USD prices of local MockPriceFeeds (a,b,..)")
    @click.option("--feeds", default=None, help="existing AggregatorV3 feed addresses (a,b,..)")
    @click.option("--param-hash", type=int, default=0, help="model-parameter hash (0: unset)")
    @click.option("--genesis-state", type=int, default=0, help="genesis model state (0: unset)")
    @click.option("--genesis-day", type=int, default=None,
                  help="UTC day of the genesis state's close (default: the model's, else today's)")
    @click.option("--n-parts", type=int, default=None,
                  help="option parts per option revaluation (default: the model's, else 0)")
    @click.option("--max-age", type=int, default=None, help="blocks a proof stays fresh")
    @click.option("--max-price-age", type=int, default=None, help="seconds a feed answer stays usable")
    @click.option("--option-max-age", type=int, default=None,
                  help="seconds an option revaluation stays usable")
    @click.option("--timelock-delay", type=int, default=None,
                  help="seconds every admin call waits after genesis (default 86400)")
    @click.option("--keeper-stall", type=int, default=None,
                  help="blocks without a keeper submission before anyone may submit (default 50)")
    @click.option("--verifiers-dir", type=click.Path(path_type=Path), default=None,
                  help="where to write the generated verifiers (default: verifiers/ beside --out; "
                       "never the tracked verifier_contracts/generated)")
    @json_opt
    def deploy_cmd(build, model_builds, model_file, rpc, out, n_assets, prices, feeds, param_hash,
                   genesis_state, genesis_day, n_parts, max_age, max_price_age, option_max_age,
                   timelock_delay, keeper_stall, verifiers_dir, as_json):
        """Deploy the verifiers, the v3 registry, its timelock and (local) price feeds, configure
        them in genesis, hand the admin role to the timelock; write a deployment file."""
        from ..chain import deployment as depmod
        from ..chain.anvil import Anvil
        from ..chain.contracts import compile_verifier
        from ..chain.evm import http_web3
        from ..fixedpoint import PRICE_SCALE
        build = build or default_build_dir() / "small"
        price_list = _csv(prices, float, "--prices")
        feed_list = _csv(feeds, str, "--feeds")
        mf = None
        if model_file is not None:
            from ..zk.model_prove import load_model_file
            mf = load_model_file(model_file)
            param_hash = param_hash or mf.params.param_hash()
            genesis_state = genesis_state or mf.state.commitment()
            genesis_day = mf.state.day if genesis_day is None else genesis_day
            n_parts = mf.params.n_options * mf.params.chunks if n_parts is None else n_parts
            n_assets = n_assets or mf.params.n_assets
            if price_list is None and feed_list is None:
                price_list = [p / PRICE_SCALE for p in mf.state.price]
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
        if n_parts is not None and n_parts < 0:
            raise InputError("command line", "--n-parts", "-", "must be >= 0")
        if rpc:
            _live_web3(rpc, None)
        mdirs = _model_build_dirs(model_builds)
        b = _margin_build(build)
        gen = generate_verifiers(build, mdirs, verifiers_dir or Path(out).parent / "verifiers")
        files = {e["kind"]: Path(gen["out_dir"]) / f for f, e in gen["files"].items()}
        margin_art = compile_verifier(files["margin"])
        mv = None
        if mdirs:
            mv = depmod.ModelVerifiers(compile_verifier(files["step"]), compile_verifier(files["reval"]),
                                       compile_verifier(files["option"]) if "option" in mdirs else None)
        if not rpc:
            click.echo("calcm chain deploy: warning: no --rpc: deploying on an embedded anvil that exits "
                       "with this command (a smoke test); for a deployment that lives, run `calcm chain "
                       "node` and pass --rpc", err=True)
        node = None if rpc else Anvil().start()
        try:
            w3 = http_web3(rpc or node.url)
            kw = {k: v for k, v in (("max_age", max_age), ("max_price_age", max_price_age),
                                    ("option_max_age", option_max_age),
                                    ("timelock_delay", timelock_delay),
                                    ("keeper_stall", keeper_stall)) if v is not None}
            _, dep = depmod.deploy(
                w3, margin_art, model_verifiers=mv, n_parts=n_parts or 0, n_assets=n_assets,
                group_size=b.config.N, feeds=feed_list, initial_prices=price_list,
                param_hash=param_hash, genesis_state=genesis_state, genesis_day=genesis_day,
                rpc=rpc, embedded=rpc is None,
                builds={"margin": str(b.dir), **{k: str(v) for k, v in mdirs.items()}}, **kw)
        finally:
            if node:
                node.stop()
        depmod.write_deployment(out, dep)
        doc = {"deployment_file": str(out), **dep.to_json()}
        if as_json:
            emit_json(doc)
            return
        mvs = dep.model_verifiers or {}
        rows = [["registry", dep.registry], ["margin verifier", dep.margin_verifier],
                ["model verifiers", ", ".join(f"{k} {v}" for k, v in mvs.items()) or
                 "none (set later by governance)"],
                ["group size N", dep.group_size], ["assets", dep.n_assets],
                ["option parts", dep.n_parts], ["timelock", f"{dep.timelock} ({dep.timelock_delay} s)"],
                ["keeper stall", f"{dep.keeper_stall} blocks"],
                ["chain id", dep.chain_id], ["node", dep.node],
                ["rpc", dep.rpc or "embedded anvil (exited)"], ["deployment file", str(out)]]
        rows += [[f"gas: {k}", f"{v:,}"] for k, v in dep.gas.items()]
        table("calcm chain deploy", ["what", "value"], rows)

    @chain.command("post-root")
    @click.option("--book", type=click.Path(path_type=Path), required=True,
                  help="the venue's book JSON (leaf i = account i; optional \"owners\": {id: address})")
    @click.option("--register", "register_owners", is_flag=True,
                  help="also register each account's owner at its leaf (first posting)")
    @deployment_opt
    @rpc_opt
    @json_opt
    def post_root_cmd(book, register_owners, deployment, rpc, as_json):
        """The venue posts the accounts root of its book (as the margin circuit commits it).

        O(1) gas: no changed-leaf list; every record of an older root becomes invalid."""
        from web3 import Web3

        from ..chain import deployment as depmod
        from ..chain.transact import RegistryRevert
        from ..risk.book import load_book
        from ..risk.fixed_margin import encode_book_accounts
        from ..zk.witness import venue_tree
        dep = depmod.read_deployment(deployment)
        reg = depmod.attach(_live_web3(rpc, dep), dep)
        mdir = (dep.builds or {}).get("margin")
        mdir = mdir.get("dir") if isinstance(mdir, dict) else mdir
        if not mdir:
            raise InputError(str(deployment), "builds", "margin", "missing: the accounts tree's "
                             "depth comes from the margin build")
        cfg = _margin_build(Path(mdir)).config
        bk = load_book(book)
        accounts = encode_book_accounts(bk)
        if len(accounts) > cfg.capacity:
            raise InputError(str(book), "-", "accounts",
                             f"{len(accounts)} accounts do not fit the tree's {cfg.capacity} leaves")
        root = venue_tree(accounts, cfg).root
        registered = []
        if register_owners:
            from ..keeper.venue import owner_address
            owners = json.loads(Path(book).read_text()).get("owners", {})
            for leaf, a in enumerate(bk.accounts):
                owner = owners.get(a.id) or owner_address(a.id)
                if not reg.f.leafOf(Web3.to_checksum_address(owner)).call()[0]:
                    reg.register_account(owner, leaf)
                    registered.append({"account": a.id, "owner": owner, "leaf": leaf})
        try:
            receipt = reg.post_accounts_root(root)
        except RegistryRevert as exc:
            raise InputError(str(deployment), "postAccountsRoot", "-", str(exc)) from None
        doc = {"root": str(root), "root_version": int(reg.f.rootVersion().call()),
               "registered": registered, "gas_used": receipt.gasUsed}
        if as_json:
            emit_json(doc)
            return
        table("calcm chain post-root", ["what", "value"],
              [[k, str(v)] for k, v in doc.items()])

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
        from ..chain.submit import batch_dirs
        dep = regmod.read_deployment(deployment)
        dirs = batch_dirs(proof_dir)
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
                # One line, so a script can read the URL with one readline().
                print(json.dumps({"rpc": node.url, "hardfork": node.hardfork, "chain_id": node.chain_id}))
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
                  help="assets of the model proofs (K = ceil(n/5) packed-price signals)")
    @click.option("--max-power", type=int, default=13, show_default=True,
                  help="largest ptau power for a snarkjs setup of the margin circuits; larger N "
                       "get groth16py's dev setup (still a real circuit)")
    @click.option("--no-pyevm", is_flag=True, help="measure on anvil only")
    @json_opt
    def gas_cmd(sizes, n_assets, max_power, no_pyevm, as_json):
        """Gas to verify and record margin batches and the v2 model proofs, on anvil and py-evm."""
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
        table("model proof gas (stand-in verifiers of the v2 signal counts)",
              ["evm", "proof", "signals", "verify tx", "submit", "floor"],
              [[r["evm"], r["proof"], r["signals"],
                f"{r['verify_tx_gas']:,}" if "verify_tx_gas" in r else "-",
                f"{r['submit_gas']:,}", f"{r['floor']:,}"] for r in res["model"]])
        console.print(res["notes"])
