"""CLI commands of the chain stage: ``chain deploy|post-root|submit|status|verifiers|node``,
``bench gas``.

Every command takes ``--rpc URL`` (any JSON-RPC node with unlocked accounts, e.g. a
persistent ``calcm chain node``); without it ``deploy`` starts an embedded anvil that
exits with the command, so its deployment is only a smoke test. ``submit`` and ``status``
need a live node: ``--rpc`` or the ``rpc`` recorded in the deployment file.
``verifiers`` and ``deploy`` live in :mod:`.chain_deploy_cmd`, the shared options in
:mod:`.chain_options`.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ..errors import InputError
from . import chain_deploy_cmd
from .chain_options import deployment_opt, json_opt, live_web3, margin_build, parse_csv, rpc_opt
from .output import console, emit_json, table


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""
    chain_deploy_cmd.register(chain)

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
        reg = depmod.attach(live_web3(rpc, dep), dep)
        mdir = (dep.builds or {}).get("margin")
        mdir = mdir.get("dir") if isinstance(mdir, dict) else mdir
        if not mdir:
            raise InputError(str(deployment), "builds", "margin", "missing: the accounts tree's "
                             "depth comes from the margin build")
        cfg = margin_build(Path(mdir)).config
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
        reg = regmod.attach(live_web3(rpc, dep), dep)
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
        reg = regmod.attach(live_web3(rpc, dep), dep)
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
        sizes_l = parse_csv(sizes, int, "--sizes")
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
