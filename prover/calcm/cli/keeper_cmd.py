"""CLI commands of the keeper stage: ``keeper``, ``demo`` and ``bench keeper``."""
from __future__ import annotations

import signal
from pathlib import Path

import click

from ..errors import InputError
from ..paths import REPO_ROOT
from .output import console, emit_json, table

DEFAULT_STATE = REPO_ROOT / "out" / "keeper.sqlite"


def _csv(value: str | None) -> tuple[str, ...] | None:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else None


def _registry(w3, registry: str | None, deployment: Path | None):
    """The Registry from a deployment file (roles from it) or an address (roles from chain)."""
    from web3 import Web3

    from ..chain import registry as regmod
    from ..chain.contracts import REGISTRY, compile_registry
    if deployment is not None:
        dep = regmod.read_deployment(deployment)
        if registry is not None and Web3.to_checksum_address(registry) != \
                Web3.to_checksum_address(dep.registry):
            raise InputError(str(deployment), "registry", "-",
                             f"--registry {registry} is not the deployment's {dep.registry}")
        return regmod.attach(w3, dep), dep
    if registry is None:
        raise InputError("command line", "--registry/--deployment", "-", "give one of them")
    if not Web3.is_address(registry):
        raise InputError("command line", "--registry", "-", f"{registry!r} is not an address")
    abi = compile_registry()[REGISTRY].abi
    addr = Web3.to_checksum_address(registry)
    if not w3.eth.get_code(addr):
        raise InputError("command line", "--registry", "-", f"no contract at {addr}")
    c = w3.eth.contract(address=addr, abi=abi)
    keepers = tuple(a for a in w3.eth.accounts if c.functions.isKeeper(a).call())
    if not keepers:
        raise InputError("registry", addr, "keepers", "no unlocked account of this node is a keeper")
    gov = c.functions.governance().call()
    return regmod.Registry(w3, addr, abi, regmod.Roles(gov, gov, keepers)), None


def _builds(dep, build: Path | None, model_build: Path | None, params, need_model: bool):
    from ..zk.config import SMALL
    from ..zk.setup import Build, cached_build
    mb = build or (Path(dep.builds["margin"]["dir"]) if dep and dep.builds.get("margin") else None)
    margin = Build.load(mb) if mb else cached_build(SMALL)
    model = None
    if need_model:
        md = model_build or (Path(dep.builds["model"]) if dep and dep.builds.get("model") else None)
        if md:
            model = Build.load(md)
        else:
            from ..zk.model_circuit import ModelCircuitConfig
            from ..zk.model_prove import model_build as make
            model, _ = make(ModelCircuitConfig.from_params(params))
    return margin, model


def register(main, bench, chain) -> None:
    """Attach this stage's commands to the root, `bench` and `chain` groups."""

    @main.command("keeper")
    @click.option("--rpc", required=True, metavar="URL", help="JSON-RPC node (keys of the keeper unlocked)")
    @click.option("--registry", default=None, metavar="ADDR", help="MarginRegistry address")
    @click.option("--deployment", type=click.Path(path_type=Path), default=None,
                  help="deployment file of `calcm chain deploy` / `calcm demo`")
    @click.option("--model", "model_file", type=click.Path(path_type=Path), required=True,
                  help="model file (parameters + genesis state): `calcm model-init` or the demo's")
    @click.option("--book", type=click.Path(path_type=Path), required=True,
                  help="the venue's book JSON (accounts; optional owners and withdrawal_requests)")
    @click.option("--build", type=click.Path(path_type=Path), default=None,
                  help="margin build (default: the deployment's, else the cached small build)")
    @click.option("--model-build", type=click.Path(path_type=Path), default=None,
                  help="model-update build (default: the deployment's, else the cached one)")
    @click.option("--scheduler", default=None, metavar="ADDRESS",
                  help="existing dask scheduler (default: an embedded LocalCluster)")
    @click.option("--workers", type=int, default=1, show_default=True,
                  help="embedded cluster: prover worker processes")
    @click.option("--threads", is_flag=True, help="embedded cluster: workers as threads, not processes")
    @click.option("--state", type=click.Path(path_type=Path), default=DEFAULT_STATE, show_default=True,
                  help="SQLite state file (one per chain and registry)")
    @click.option("--max-price-age", type=int, default=3600, show_default=True,
                  help="seconds; older feed answers skip the block")
    @click.option("--refresh-blocks", type=int, default=16, show_default=True,
                  help="prove every account at least every N blocks (N < the registry's maxAge)")
    @click.option("--near-mm-buffer", type=float, default=0.10, show_default=True,
                  help="prove every epoch the accounts with equity <= MM * (1 + buffer)")
    @click.option("--model-mode", type=click.Choice(["auto", "prove", "attest"]), default="auto",
                  show_default=True, help="auto: prove iff the registry has a model verifier")
    @click.option("--poll", type=float, default=1.0, show_default=True, help="seconds between head polls")
    @click.option("--blocks", type=int, default=None, help="stop after N processed blocks")
    @click.option("--idle-exit", type=float, default=None,
                  help="stop after this many seconds without a new block")
    @click.option("--metrics", "metrics_file", type=click.Path(path_type=Path), default=None,
                  help="write Prometheus metrics to this file after every block")
    @click.option("--metrics-port", type=int, default=None,
                  help="serve Prometheus metrics on 127.0.0.1:PORT/metrics")
    @click.option("--json", "as_json", is_flag=True, help="structured JSON logs (one event a line)")
    def keeper_cmd(rpc, registry, deployment, model_file, book, build, model_build, scheduler,
                   workers, threads, state, max_price_age, refresh_blocks, near_mm_buffer,
                   model_mode, poll, blocks, idle_exit, metrics_file, metrics_port, as_json):
        """Follow the chain block by block: prices, model update, margins, proofs, submissions."""
        from ..chain.anvil import rpc_ready
        from ..chain.evm import http_web3
        from ..keeper.log import EventLog
        from ..keeper.loop import Keeper, KeeperConfig
        from ..keeper.metrics import Metrics
        from ..keeper.model import load_model
        from ..keeper.prover_pool import ProverPool
        from ..keeper.store import Store
        from ..keeper.venue import BookFileVenue

        try:
            cfg = KeeperConfig(max_price_age=max_price_age, refresh_blocks=refresh_blocks,
                               near_mm_buffer=near_mm_buffer, model_mode=model_mode,
                               poll_seconds=poll)
        except ValueError as exc:
            raise InputError("command line", "options", "-", str(exc)) from None
        if workers < 1:
            raise InputError("command line", "--workers", "-", "must be >= 1")
        mf = load_model(model_file)
        if not rpc_ready(rpc, timeout=5):
            raise InputError("--rpc", rpc, "-", "node does not answer JSON-RPC")
        w3 = http_web3(rpc)
        reg, dep = _registry(w3, registry, deployment)
        has_model_verifier = reg.f.modelVerifier().call() != "0x" + "00" * 20
        need_model = model_mode == "prove" or (model_mode == "auto" and has_model_verifier)
        margin, model = _builds(dep, build, model_build, mf.params, need_model)
        venue = BookFileVenue(book, mf.params, margin.config)
        venue.snapshot()  # a bad book fails now, with one line, before anything starts
        log = EventLog(json_mode=as_json)
        metrics = Metrics(metrics_file)
        if metrics_port is not None:
            port = metrics.serve(metrics_port)
            log.emit("metrics", url=f"http://127.0.0.1:{port}/metrics")
        with Store(state) as store, ProverPool(scheduler, workers, not threads) as pool:
            keeper = Keeper(w3, reg, store, mf, venue, margin, model, pool, cfg, log, metrics)
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
    @click.option("--start", default=None, help="first replayed day (default: 2023-01-16 / 2022-11-05)")
    @click.option("--days", type=int, default=None, help="days to replay (default: 8 for the fixture, 14 for real history)")
    @click.option("--instruments", default=None,
                  help="sub-book instruments (default: the book's first n, as `calcm prove`)")
    @click.option("--collateral", default=",".join(("USDC", "BTC")), show_default=True,
                  help="sub-book collateral assets")
    @click.option("--workers", type=int, default=2, show_default=True, help="dask prover workers")
    @click.option("--threads", is_flag=True, help="workers as threads of this process")
    @click.option("--scheduler", default=None, metavar="ADDRESS", help="existing dask scheduler")
    @click.option("--model-mode", type=click.Choice(["auto", "prove", "attest"]), default="auto",
                  show_default=True)
    @click.option("--no-venue-actions", is_flag=True, help="no liquidations or withdrawals")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
                  help="output dir (default: out/demo): deployment, model, keeper state, report")
    @click.option("--json", "as_json", is_flag=True, help="the report as JSON on stdout")
    def demo_cmd(history, start, days, instruments, collateral, workers, threads, scheduler,
                 model_mode, no_venue_actions, out_dir, as_json):
        """Local chain + keeper through a stress episode; ends with a short report."""
        from ..keeper.demo import DEFAULT_OUT, DemoSettings, run_demo
        from ..keeper.log import EventLog
        if days is not None and days < 1:
            raise InputError("command line", "--days", "-", "must be >= 1")
        s = DemoSettings(history=history, start=start, days=days, instruments=_csv(instruments),
                         collateral=_csv(collateral), workers=workers, processes=not threads,
                         scheduler=scheduler, model_mode=model_mode,
                         venue_actions=not no_venue_actions, out_dir=out_dir or DEFAULT_OUT)
        out = _wide_console()
        try:
            rep = run_demo(s, EventLog(quiet=as_json),
                           say=(lambda m: None) if as_json else (lambda m: out.print(f"[cyan]{m}[/]")))
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
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def bench_keeper_cmd(workers, blocks, scheduler, threads, as_json):
        """Accounts proven per block-second with 1 and 2 workers; block-to-mined latency."""
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


def _liquidations(plans: list[dict]) -> str:
    """``2 partial, 10,433 USD sold, ratio 0.37 -> 1.10`` (first ratio before, last after)."""
    if not plans:
        return "-"
    kinds = ", ".join(f"{sum(1 for p in plans if p['status'] == k)} {k}"
                      for k in ("partial", "full") if any(p["status"] == k for p in plans))
    notional = sum(p["notional"] for p in plans)
    return (f"{kinds}, {notional:,.0f} USD sold, ratio {plans[0]['ratio_before']} -> "
            f"{plans[-1]['ratio_after']}")


def _wide_console():
    """The shared console on a terminal; 160 columns off one (logs, pipes), not 80."""
    from rich.console import Console
    return console if console.is_terminal else Console(width=160)


def print_demo_report(rep: dict) -> None:
    """The demo's closing report as rich tables."""
    out = _wide_console()
    tier = {0: "0", 1: "1", 2: "2", 3: "L", None: "-"}
    b, p, t = rep["blocks"], rep["proofs_verified_on_chain"], rep["time"]
    table(f"calcm demo: {rep['history']} history, {rep['window']['days']} days from "
          f"{rep['window']['start']} ({rep['model_mode']} model updates, {rep['workers']} workers)",
          ["what", "value"],
          [["blocks processed / skipped / coalesced", f"{b['processed']} / {b['skipped']} / {b['coalesced']}"],
           ["model updates verified on-chain", f"{p['model_updates']} proven, {p['model_updates_attested']} attested"],
           ["margin batches verified on-chain", f"{p['margin_batches']} ({p['accounts_covered']} account proofs)"],
           ["gating checks (isLiquidatable, canWithdraw vs Python)",
            f"{rep['gating']['checks']} checks, {len(rep['gating']['failures'])} failures"],
           ["float vs fixed-point tier mismatches", rep["float_vs_fixed_tier_mismatches"]],
           ["time per block with proofs (mean / max)", f"{t['per_block_mean_seconds']} s / {t['per_block_max_seconds']} s"],
           ["price block to proofs mined (mean)", f"{t['latency_mean_seconds']} s"],
           ["setup / total", f"{t['setup_seconds']} s / {t['total_seconds']} s"],
           ["gas per model update / margin batch (anvil)",
            " / ".join(f"{rep['gas_anvil'][k]['mean']:,}" if rep["gas_anvil"][k]["mean"] else "-"
                       for k in ("model", "margin"))]], out)
    table("accounts (tier per replayed day: 0 healthy, 1 warning, 2 no new risk, L liquidatable)",
          ["account", "kind", "tiers", "became liquidatable", "gated ok", "liquidation"],
          [[a["account"], a["kind"], " ".join(tier[x] for x in a["tiers"]),
            f"{a['became_liquidatable']['date']} (block {a['became_liquidatable']['block']})"
            if a["became_liquidatable"] else "-", "yes" if a["gated"] else "NO",
            _liquidations(a["liquidations"])] for a in rep["accounts"]], out)
    if rep["withdrawals"]:
        table("withdrawal requests", ["account", "date", "fraction", "tier after", "canWithdraw", "outcome"],
              [[w["account"], w["date"], w["fraction"], w["tier_after"], w["can_withdraw"], w["outcome"]]
               for w in rep["withdrawals"]], out)
    for n in rep["skipped_accounts"]:
        out.print(f"[dim]{n}[/]")
