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


def _provers(dep, builds: Path | None, params, backend: str):
    """The keeper's CircuitProvers: the build dirs of ``--builds`` (a JSON file naming
    ``step``, ``reval``, ``option``, ``margin``), else the deployment's, else set up now
    (the demo's deployment records them)."""
    import json

    from ..keeper.proving import CircuitBuilds, CircuitProvers
    dirs = None
    if builds is not None:
        try:
            dirs = json.loads(Path(builds).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(str(builds), "-", "-", f"not a JSON builds file: {exc}") from None
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
    def keeper_cmd(rpc, registry, deployment, model_file, book, builds, backend, scheduler,
                   workers, threads, state, max_price_age, refresh_blocks, near_mm_buffer,
                   poll, blocks, idle_exit, metrics_file, metrics_port, as_json):
        """Follow the chain block by block: daily steps, revaluations, option parts, margins."""
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
                               near_mm_buffer=near_mm_buffer, poll_seconds=poll)
        except ValueError as exc:
            raise InputError("command line", "options", "-", str(exc)) from None
        if workers < 1:
            raise InputError("command line", "--workers", "-", "must be >= 1")
        mf = load_model(model_file)
        if not rpc_ready(rpc, timeout=5):
            raise InputError("--rpc", rpc, "-", "node does not answer JSON-RPC")
        w3 = http_web3(rpc)
        reg, dep = _registry(w3, registry, deployment)
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
    @click.option("--start", default=None, help="first replayed day (default: 2023-01-19 / 2022-11-05)")
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
    def demo_cmd(history, start, days, profile, intraday, workers, threads, scheduler,
                 no_venue_actions, out_dir, as_json):
        """Local chain + keeper through a stress episode; ends with a short report."""
        from ..keeper.demo import DEFAULT_OUT, DemoSettings, run_demo
        from ..keeper.log import EventLog
        if days is not None and days < 1:
            raise InputError("command line", "--days", "-", "must be >= 1")
        if intraday < 0:
            raise InputError("command line", "--intraday", "-", "must be >= 0")
        s = DemoSettings(history=history, start=start, days=days, profile=profile,
                         intraday=intraday, workers=workers, processes=not threads,
                         scheduler=scheduler, venue_actions=not no_venue_actions,
                         out_dir=out_dir or DEFAULT_OUT)
        out = _wide_console()
        say = (lambda m: None) if as_json else (lambda m: out.print(f"[cyan]{m}[/]"))
        try:
            with SetupProgress(out, enabled=not as_json, profile=profile) as progress:
                rep = run_demo(s, EventLog(quiet=as_json), say=say, progress=progress)
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


#: Setup seconds (compile + dev setup) per circuit kind and profile, for the progress
#: estimate of a build that is not cached yet. ``fast``: measured on this machine (2 cores
#: shared with other compiles, load ~8). ``published``: step measured (1,846 s at nice 15),
#: option and margin from bench/README.md, reval ESTIMATED as the step (docs/KEEPER.md).
SETUP_ESTIMATE = {"fast": {"step": 125, "reval": 120, "option": 145, "margin": 295},
                  "published": {"step": 1850, "reval": 1850, "option": 250, "margin": 575}}


class SetupProgress:
    """Rich progress of the circuit setup (``progress(kind, phase)`` callback) with an
    estimate per circuit; a cached build finishes at once."""

    def __init__(self, out, enabled: bool = True, profile: str = "fast"):
        self.out, self.enabled, self.profile = out, enabled, profile
        self.progress = None
        self.tasks = {}

    def __enter__(self):
        if self.enabled:
            from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TimeElapsedColumn(), TextColumn("estimate"),
                                     TimeRemainingColumn(), console=self.out, transient=False)
            self.progress.start()
        return self

    def __call__(self, kind: str, phase: str) -> None:
        if self.progress is None:
            return
        import threading
        import time
        if phase == "start":
            est = SETUP_ESTIMATE.get(self.profile, SETUP_ESTIMATE["fast"]).get(kind, 60)
            tid = self.progress.add_task(f"setting up the {kind} circuit (est. {est} s if not cached)",
                                         total=est)
            self.tasks[kind] = tid
            t0 = time.monotonic()

            def tick():
                while kind in self.tasks:
                    self.progress.update(tid, completed=min(time.monotonic() - t0, est * 0.99))
                    time.sleep(0.5)
            threading.Thread(target=tick, daemon=True).start()
        else:
            tid = self.tasks.pop(kind, None)
            if tid is not None:
                self.progress.update(tid, completed=self.progress.tasks[tid].total)

    def __exit__(self, *exc):
        self.tasks.clear()
        if self.progress is not None:
            self.progress.stop()


def print_demo_report(rep: dict) -> None:
    """The demo's closing report as rich tables."""
    out = _wide_console()
    tier = {0: "0", 1: "1", 2: "2", 3: "L", None: "-"}
    b, p, t = rep["blocks"], rep["proofs_verified_on_chain"], rep["time"]
    pa = rep["parameters"]
    gas = rep["gas_anvil"]
    table(f"calcm demo: {rep['history']} history, {rep['window']['days']} days from "
          f"{rep['window']['start']}, profile {rep['profile']} (S={pa['S']}, k={pa['k']}, "
          f"{pa['option_parts']} option parts), {rep['workers']} workers",
          ["what", "value"],
          [["blocks processed / skipped / coalesced", f"{b['processed']} / {b['skipped']} / {b['coalesced']}"],
           ["daily steps verified on-chain", p["daily_steps"]],
           ["intraday revaluations verified on-chain", p["intraday_revaluations"]],
           ["option revaluations (parts) verified on-chain", f"{p['option_revaluations']} ({p['option_parts']})"],
           ["margin batches verified on-chain", f"{p['margin_batches']} ({p['accounts_covered']} account proofs)"],
           ["gating checks (isLiquidatable, canWithdraw vs Python)",
            f"{rep['gating']['checks']} checks, {len(rep['gating']['failures'])} failures"],
           ["float vs fixed-point tier mismatches", rep["float_vs_fixed_tier_mismatches"]],
           ["time per block with proofs (mean / max)", f"{t['per_block_mean_seconds']} s / {t['per_block_max_seconds']} s"],
           ["setup / replay / total", f"{t['setup_seconds']} s / {t['replay_seconds']} s / {t['total_seconds']} s"],
           ["gas per step / reval / option part / margin batch (anvil)",
            " / ".join(f"{gas[k]['mean']:,}" if gas[k]["mean"] else "-"
                       for k in ("step", "reval", "option", "margin"))]], out)
    table("accounts (tier at each daily close: 0 healthy, 1 warning, 2 no new risk, L liquidatable)",
          ["account", "kind", "tiers", "became liquidatable", "gated ok", "liquidation"],
          [[a["account"], a["kind"], " ".join(tier[x] for x in a["tiers"]),
            f"{a['became_liquidatable']['date']} (block {a['became_liquidatable']['block']})"
            if a["became_liquidatable"] else "-", "yes" if a["gated"] else "NO",
            _liquidations(a["liquidations"])] for a in rep["accounts"]], out)
    if rep["withdrawals"]:
        table("withdrawal requests", ["account", "date", "fraction", "tier after", "canWithdraw", "outcome"],
              [[w["account"], w["date"], w["fraction"], w["tier_after"], w["can_withdraw"], w["outcome"]]
               for w in rep["withdrawals"]], out)
    for n in rep["notes"]:
        out.print(f"[dim]{n}[/]")
