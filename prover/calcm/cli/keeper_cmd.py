"""CLI commands of the keeper stage: ``keeper``, ``demo`` and ``bench keeper``."""
from __future__ import annotations

import json
import signal
from pathlib import Path

import click

from ..errors import InputError
from ..paths import REPO_ROOT
from .output import console, emit_json, table

DEFAULT_STATE = REPO_ROOT / "out" / "keeper.sqlite"


def _csv(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


def _has_function(abi: list, name: str) -> bool:
    return any(i.get("type") == "function" and i.get("name") == name for i in abi)


def _is_keeper(contract, abi: list, address: str) -> bool:
    """``address`` may submit as a keeper: ``hasRole(KEEPER_ROLE)`` (v3, AccessControl) or
    ``isKeeper`` (v2)."""
    f = contract.functions
    if _has_function(abi, "KEEPER_ROLE"):
        return bool(f.hasRole(f.KEEPER_ROLE().call(), address).call())
    return bool(f.isKeeper(address).call())


def _registry(w3, registry: str | None, deployment: Path | None, signer: str | None = None):
    """The Registry from a deployment file (roles from it) or an address (roles from chain).

    ``signer``: the keeper address of a local signer (``--keystore`` / ``CALCM_KEEPER_KEY``);
    it replaces the deployment's keeper and must hold the keeper role."""
    from dataclasses import replace

    from web3 import Web3

    from ..chain import registry as regmod
    from ..chain.contracts import REGISTRY, compile_registry
    if deployment is not None:
        dep = regmod.read_deployment(deployment)
        if registry is not None and Web3.to_checksum_address(registry) != \
                Web3.to_checksum_address(dep.registry):
            raise InputError(str(deployment), "registry", "-",
                             f"--registry {registry} is not the deployment's {dep.registry}")
        reg = regmod.attach(w3, dep)
        if signer is not None:
            if not _is_keeper(reg.contract, reg.contract.abi, signer):
                raise InputError("registry", reg.address, "keepers",
                                 f"the signer {signer} does not hold the keeper role")
            reg.roles = replace(reg.roles, keepers=(signer,))
        return reg, dep
    if registry is None:
        raise InputError("command line", "--registry/--deployment", "-", "give one of them")
    if not Web3.is_address(registry):
        raise InputError("command line", "--registry", "-", f"{registry!r} is not an address")
    abi = compile_registry()[REGISTRY].abi
    addr = Web3.to_checksum_address(registry)
    if not w3.eth.get_code(addr):
        raise InputError("command line", "--registry", "-", f"no contract at {addr}")
    c = w3.eth.contract(address=addr, abi=abi)
    candidates = (signer,) if signer is not None else tuple(w3.eth.accounts)
    keepers = tuple(a for a in candidates if _is_keeper(c, abi, a))
    if not keepers:
        who = f"the signer {signer}" if signer else "no unlocked account of this node"
        raise InputError("registry", addr, "keepers", f"{who} is not a keeper")
    gov = c.functions.governance().call() if _has_function(abi, "governance") else keepers[0]
    return regmod.Registry(w3, addr, abi, regmod.Roles(gov, gov, keepers)), None


def _keeper_account(keystore: Path | None):
    """The keeper's local signer (``--keystore`` with ``CALCM_KEYSTORE_PASSWORD`` or a hidden
    prompt on a terminal; else ``CALCM_KEEPER_KEY``), or None (the node's unlocked accounts:
    dev nodes). Read before anything else starts, so a bad key fails in one line."""
    import sys

    from ..chain.signer import keeper_signer

    def prompt():
        if not sys.stdin.isatty():
            return None
        return click.prompt(f"passphrase of {keystore}", hide_input=True)
    return keeper_signer(keystore, prompt=prompt)


def _provers(dep, builds: Path | None, params, backend: str):
    """The keeper's CircuitProvers: the build dirs of ``--builds`` (a JSON file naming
    ``step``, ``reval``, ``option``, ``margin``), else the deployment's, else set up now
    (the demo's deployment records them)."""

    from ..keeper.proving import CircuitBuilds, CircuitProvers
    dirs = None
    if builds is not None:
        dirs = read_builds(builds)
    elif dep is not None and {"step", "reval", "margin"} <= set(dep.builds or {}):
        dirs = dep.builds
    if dirs is not None:
        try:
            cb = CircuitBuilds(dirs["step"], dirs["reval"], dirs.get("option"), dirs["margin"])
        except KeyError as exc:
            raise InputError(str(builds or "deployment"), "builds", str(exc), "missing") from None
    else:
        raise InputError("command line", "--builds", "-",
                         "no builds: pass --builds FILE or a deployment made by `calcm demo` / "
                         "`calcm chain deploy --model`")
    return CircuitProvers(params, cb, backend)


def read_builds(builds: Path) -> dict:
    """The ``--builds`` JSON: an object naming the step, reval, margin (and option) build dirs."""
    try:
        dirs = json.loads(Path(builds).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(str(builds), "-", "-", f"not a JSON builds file: {exc}") from None
    if not isinstance(dirs, dict):
        raise InputError(str(builds), "-", "-", "expected an object of build dirs")
    for k in ("step", "reval", "margin"):
        if not isinstance(dirs.get(k), str) or not dirs[k]:
            raise InputError(str(builds), "builds", k, "missing, null or not a path")
    return dirs


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

    @main.command("keeper")
    @click.option("--rpc", required=True, metavar="URL", help="JSON-RPC node")
    @click.option("--keystore", type=click.Path(path_type=Path), default=None,
                  help="encrypted keystore (v3 JSON) of the keeper key; passphrase from "
                       "CALCM_KEYSTORE_PASSWORD or a prompt (else CALCM_KEEPER_KEY, else the "
                       "node's unlocked accounts: dev only)")
    @click.option("--registry", default=None, metavar="ADDR", help="MarginRegistry address")
    @click.option("--deployment", type=click.Path(path_type=Path), default=None,
                  help="deployment file of `calcm chain deploy` / `calcm demo`")
    @click.option("--model", "model_file", type=click.Path(path_type=Path), required=True,
                  help="model file (parameters + genesis state): `calcm model-init` or the demo's")
    @click.option("--book", type=click.Path(path_type=Path), required=True,
                  help="the venue's book JSON (accounts; optional owners and withdrawal_requests)")
    @click.option("--builds", type=click.Path(path_type=Path), default=None,
                  help="JSON file naming the step, reval, option and margin build dirs "
                       "(default: the deployment's)")
    @click.option("--backend", type=click.Choice(["auto", "arkworks", "snarkjs"]), default="auto",
                  show_default=True, help="Groth16 prover (auto: arkworks when available)")
    @click.option("--scheduler", default=None, metavar="ADDRESS",
                  help="existing dask scheduler (default: an embedded LocalCluster)")
    @click.option("--workers", type=int, default=1, show_default=True,
                  help="embedded cluster: prover worker processes")
    @click.option("--threads", is_flag=True, help="embedded cluster: workers as threads, not processes")
    @click.option("--state", type=click.Path(path_type=Path), default=DEFAULT_STATE, show_default=True,
                  help="SQLite state file (one per chain and registry)")
    @click.option("--max-price-age", type=int, default=3600, show_default=True,
                  help="seconds; older feed answers block revaluations and margins")
    @click.option("--refresh-blocks", type=int, default=16, show_default=True,
                  help="prove every account at least every N blocks (N < the registry's maxAge)")
    @click.option("--near-mm-buffer", type=float, default=0.10, show_default=True,
                  help="label near_mm the accounts with equity <= MM * (1 + buffer)")
    @click.option("--poll", type=float, default=1.0, show_default=True, help="seconds between head polls")
    @click.option("--blocks", type=int, default=None, help="stop after N processed blocks")
    @click.option("--idle-exit", type=float, default=None,
                  help="stop after this many seconds without a new block")
    @click.option("--metrics", "metrics_file", type=click.Path(path_type=Path), default=None,
                  help="write Prometheus metrics to this file after every block")
    @click.option("--metrics-port", type=int, default=None,
                  help="serve Prometheus metrics on 127.0.0.1:PORT/metrics")
    @click.option("--json", "as_json", is_flag=True, help="structured JSON logs (one event a line)")
    def keeper_cmd(rpc, keystore, registry, deployment, model_file, book, builds, backend, scheduler,
                   workers, threads, state, max_price_age, refresh_blocks, near_mm_buffer,
                   poll, blocks, idle_exit, metrics_file, metrics_port, as_json):
        """Follow the chain block by block: daily steps, revaluations, option parts, margins."""
        from ..chain.anvil import rpc_ready
        from ..chain.evm import http_web3
        from ..chain.signer import install as install_signer
        from ..keeper.log import EventLog
        from ..keeper.loop import Keeper, KeeperConfig
        from ..keeper.metrics import Metrics
        from ..keeper.model import load_model
        from ..keeper.prover_pool import ProverPool
        from ..keeper.store import Store
        from ..keeper.venue import BookFileVenue

        try:
            cfg = KeeperConfig(max_price_age=max_price_age, refresh_blocks=refresh_blocks,
                               near_mm_buffer=near_mm_buffer, poll_seconds=poll)
        except ValueError as exc:
            raise InputError("command line", "options", "-", str(exc)) from None
        if workers < 1:
            raise InputError("command line", "--workers", "-", "must be >= 1")
        account = _keeper_account(keystore)
        mf = load_model(model_file)
        # Every local file is checked before the chain is contacted (validate before work).
        if deployment is not None:
            from ..chain.deployment import read_deployment
            read_deployment(deployment)
        if builds is not None:
            read_builds(builds)
        if not rpc_ready(rpc, timeout=5):
            from ..errors import UnavailableError
            raise UnavailableError(f"--rpc {rpc}", "node does not answer JSON-RPC (start one: `calcm chain node`)")
        w3 = http_web3(rpc)
        signer = None if account is None else install_signer(w3, account)
        reg, dep = _registry(w3, registry, deployment, signer)
        provers = _provers(dep, builds, mf.params, backend)
        venue = BookFileVenue(book, mf.params, provers.margin_config)
        venue.snapshot()  # a bad book fails now, with one line, before anything starts
        log = EventLog(json_mode=as_json)
        metrics = Metrics(metrics_file)
        if metrics_port is not None:
            port = metrics.serve(metrics_port)
            log.emit("metrics", url=f"http://127.0.0.1:{port}/metrics")
        with Store(state) as store, ProverPool(scheduler, workers, not threads) as pool:
            keeper = Keeper(w3, reg, store, mf, venue, provers, pool, cfg, log, metrics,
                            deploy_block=dep.deploy_block if dep else None)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: keeper.stop_event.set())
            reports = keeper.run(max_blocks=blocks, idle_timeout=idle_exit)
            counts = store.counts()
        metrics.close()
        if not as_json:
            table("calcm keeper", ["what", "value"],
                  [["blocks processed", counts["blocks"].get("processed", 0)],
                   ["blocks skipped", counts["blocks"].get("skipped", 0)],
                   ["blocks coalesced", counts["blocks"].get("coalesced", 0)],
                   ["submissions", counts["submissions"]], ["gas used", f"{counts['gas_used']:,}"],
                   ["this run", f"{len(reports)} blocks"]])

    @main.command("demo")
    @click.option("--history", type=click.Choice(["fixture", "real"]), default="fixture",
                  show_default=True, help="fixture crash, or the real history in ../shared/data")
    @click.option("--market", type=click.Path(path_type=Path), default=None,
                  help="replay this market file instead (wide CSV, long CSV or OHLCV directory)")
    @click.option("--start", default=None, help="first replayed day (default: 2023-01-19 / 2022-11-05 "
                  "when in the data, else 4 days before the data's worst day)")
    @click.option("--days", type=int, default=None, help="days to replay (default: 3 for the fixture, 14 for real history)")
    @click.option("--profile", type=click.Choice(["fast", "published"]), default="fast", show_default=True,
                  help="published: the published parameters (S=534); fast: 20 FHS days (S=54), "
                       "published as the demo's own parameters")
    @click.option("--intraday", type=int, default=2, show_default=True,
                  help="synthetic intraday rounds per day between the daily closes")
    @click.option("--workers", type=int, default=2, show_default=True, help="dask prover workers")
    @click.option("--threads", is_flag=True, help="workers as threads of this process")
    @click.option("--scheduler", default=None, metavar="ADDRESS", help="existing dask scheduler")
    @click.option("--no-venue-actions", is_flag=True, help="no liquidations or withdrawals")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
                  help="output dir (default: out/demo): deployment, model, keeper state, report")
    @click.option("--json", "as_json", is_flag=True, help="the report as JSON on stdout")
    def demo_cmd(history, market, start, days, profile, intraday, workers, threads, scheduler,
                 no_venue_actions, out_dir, as_json):
        """Local chain + keeper through a stress episode; ends with a short report."""
        from ..keeper.demo import DEFAULT_OUT, DemoSettings, run_demo
        from .demo_output import SetupProgress, print_demo_report, wide_console
        from ..keeper.log import EventLog
        if days is not None and days < 1:
            raise InputError("command line", "--days", "-", "must be >= 1")
        if intraday < 0:
            raise InputError("command line", "--intraday", "-", "must be >= 0")
        s = DemoSettings(history=history, market=market, start=start, days=days, profile=profile,
                         intraday=intraday, workers=workers, processes=not threads,
                         scheduler=scheduler, venue_actions=not no_venue_actions,
                         out_dir=out_dir or DEFAULT_OUT)
        out = wide_console()
        say = (lambda m: None) if as_json else (lambda m: out.print(f"[cyan]{m}[/]"))
        try:
            with SetupProgress(out, enabled=not as_json, profile=profile) as progress:
                rep = run_demo(s, EventLog(quiet=as_json), say=say, progress=progress)
        except InputError:
            raise
        except ValueError as exc:
            raise InputError("command line", "--start/--days", "-", str(exc)) from None
        if as_json:
            emit_json(rep)
            return
        print_demo_report(rep)

    @bench.command("keeper")
    @click.option("--workers", default="1,2", show_default=True, help="worker counts to compare")
    @click.option("--blocks", type=int, default=3, show_default=True, help="replayed blocks per run")
    @click.option("--scheduler", default=None, metavar="ADDRESS", help="existing dask scheduler")
    @click.option("--threads", is_flag=True, help="embedded workers as threads")
    @click.option("--kills", type=int, default=None,
                  help="instead: the kill -9 schedule, this many seeded SIGKILLs of a keeper "
                       "subprocess over --blocks blocks (checks 0 lost / 0 duplicated)")
    @click.option("--seed", type=int, default=2026, show_default=True, help="--kills: schedule seed")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def bench_keeper_cmd(workers, blocks, scheduler, threads, kills, seed, as_json):
        """Accounts proven per block-second with 1 and 2 workers; block-to-mined latency.
        With --kills: the seeded kill -9 robustness run."""
        if kills is not None:
            return _bench_kills(blocks, kills, seed, as_json)
        from ..keeper.bench import bench_keeper
        try:
            ws = [int(w) for w in _csv(workers) or ()]
        except ValueError:
            raise InputError("command line", "--workers", "-", f"{workers!r}: comma-separated integers") from None
        if not ws or min(ws) < 1 or blocks < 1:
            raise InputError("command line", "--workers/--blocks", "-", "must be >= 1")
        res = bench_keeper(ws, blocks, scheduler, not threads,
                           log=(lambda m: None) if as_json else console.print)
        if as_json:
            emit_json(res)
            return
        table("calcm bench keeper", ["workers", "blocks", "accounts proven", "accounts / block-s",
                                     "block s (mean)", "latency s (mean)", "latency s (max)", "speedup"],
              [[r["workers"], r["blocks"], r["accounts_proven"], r["accounts_per_block_second"],
                r["block_seconds_mean"], r["latency_seconds"]["mean"], r["latency_seconds"]["max"],
                r["speedup_vs_first"]] for r in res["runs"]])
        for n in res["notes"]:
            console.print(n)


def _bench_kills(blocks: int, kills: int, seed: int, as_json: bool) -> None:
    from ..keeper.crash_run import bench_kills
    if kills < 0 or blocks < 3:
        raise InputError("command line", "--kills/--blocks", "-", "kills >= 0 and blocks >= 3")
    res = bench_kills(blocks, kills, seed, log=(lambda m: None) if as_json else console.print)
    if as_json:
        emit_json(res)
    else:
        out = res["outcome"]
        table("calcm bench keeper --kills", ["what", "value"],
              [["blocks / kills / seed", f"{blocks} / {kills} / {seed}"],
               ["rounds", res["rounds"]], ["keeper starts", res["keeper_starts"]],
               ["kills fired after a mined send", sum(k["status"] == "fired" for k in res["kill_log"])],
               ["submissions expected / landed / reverted",
                f"{out['expected']} / {out['landed']} / {out['reverted']}"],
               ["lost / duplicated", f"{len(out['lost'])} / {len(out['duplicated'])}"],
               ["exact", out["exact"]],
               ["world setup / run seconds", f"{res['world_seconds']} / {res['run_seconds']}"]])
    if not res["outcome"]["exact"]:
        raise SystemExit(1)
