"""CLI commands ``chain verifiers`` and ``chain deploy``: generate the verifiers of the builds,
then deploy them with the v3 registry, its timelock and (local) price feeds.

Without ``--rpc``, ``deploy`` starts an embedded anvil that exits with the command, so its
deployment is only a smoke test.
"""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ..paths import default_build_dir
from .chain_options import (DEFAULT_DEPLOYMENT, json_opt, live_web3, margin_build, parse_csv,
                            rpc_opt)
from .chain_verifiers import generate_verifiers, model_build_dirs
from .output import emit_json, table


def register(chain) -> None:
    """Attach ``verifiers`` and ``deploy`` to the `chain` group."""

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
                                 model_build_dirs(model_builds), out or GENERATED)
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
        price_list = parse_csv(prices, float, "--prices")
        feed_list = parse_csv(feeds, str, "--feeds")
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
            live_web3(rpc, None)
        mdirs = model_build_dirs(model_builds)
        b = margin_build(build)
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
            if genesis_day is not None:
                _warn_stale_genesis(genesis_day, w3.eth.get_block("latest").timestamp)
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


def _warn_stale_genesis(genesis_day: int, now: int) -> None:
    """One stderr line when the genesis state's close day is over a day behind the chain's clock:
    the keeper must then step every day in between, each from the first round after its
    midnight, and stalls on a day whose feeds have none (docs/KEEPER.md "Model time")."""
    from ..chain.encoding import DAY, utc_date
    behind = now // DAY - 1 - genesis_day
    if behind >= 1:
        click.echo(f"calcm chain deploy: warning: the model's genesis day {genesis_day} ({utc_date(genesis_day)}) "
                   f"is {behind} day(s) behind the chain's clock ({utc_date(now // DAY)}): the keeper steps each "
                   "day from its own close and stalls on a day whose feeds have no round", err=True)
