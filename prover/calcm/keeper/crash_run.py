"""Running a kill schedule (:mod:`.crash_schedule`): the small world, the keeper's input
files and encrypted dev keystore, `calcm keeper` as a child process, quiescence, the driver
loop and ``calcm bench keeper --kills``."""
from __future__ import annotations

import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from .. import atomic
from ..chain.evm import mine_blocks
from .crash_schedule import Round, RunResult, make_schedule, outcome
from .demo_settings import Profile

#: The small test world (tests/keeper uses the same cut of the bundled book).
SMALL_INSTRUMENTS = ("BTC", "ETH", "BTC-PERP", "ETH-PERP", "BTC-C-31000-30D")
SMALL_COLLATERAL = ("USDC", "BTC")
SMALL_ACCOUNTS = ("long_btc", "near_liq_long", "covered_call")
#: 4 FHS days and 1 extreme day a side (S = 12, k = 1), two scenario chunks (2 option parts).
SMALL_PROFILE = Profile("keeper-tests", n_fhs=4, chunks=2, n_extreme=1)
#: anvil's public test mnemonic (dev-only; every anvil node prints its keys).
ANVIL_DEV_MNEMONIC = "test test test test test test test test test test test junk"


# ---------------------------------------------------------------------- the world


def small_book():
    """The bundled book cut to two underlyings, two collateral assets, three accounts."""
    from ..paths import DEFAULT_BOOK
    from ..risk.book import Book, load_book
    book = load_book(DEFAULT_BOOK)
    return Book(tuple(i for i in book.instruments if i.id in SMALL_INSTRUMENTS),
                tuple(c for c in book.collateral if c.asset in SMALL_COLLATERAL),
                tuple(a for a in book.accounts if a.id in SMALL_ACCOUNTS), book.source)


def small_world(days: int, book=None, log=lambda m: None):
    """A demo world of the small book (S = 12, two option parts), records that never expire
    during the run (maxAge 60,000 blocks, under the registry's uint16 cap: no refresh
    enters the schedule)."""
    from .demo_settings import DemoSettings
    from .world import build_world
    s = DemoSettings(days=days, venue_actions=False, group_size=2, max_age=60_000,
                     refresh_blocks=50_000,
                     scenarios=SMALL_PROFILE)
    return build_world(s, book=book or small_book(), log=log)


def dev_keystore(path: Path, password: str, index: int = 2) -> str:
    """An encrypted keystore of anvil dev account ``index`` (dev-only); returns its address."""
    from eth_account import Account

    from ..chain.signer import write_keystore
    Account.enable_unaudited_hdwallet_features()
    acct = Account.from_mnemonic(ANVIL_DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    write_keystore(acct, path, password, kdf="pbkdf2", iterations=2)
    return acct.address


def keeper_inputs(world, d: Path) -> dict[str, Path]:
    """The files `calcm keeper` reads: deployment (with the builds), model file, venue book."""
    from ..chain.deployment import write_deployment
    from ..risk.book import book_to_json
    paths = {"deployment": d / "deployment.json", "model": d / "model.json",
             "book": d / "book.json"}
    write_deployment(paths["deployment"], world.deployment)
    atomic.write_json(paths["model"], world.model.to_json())
    snap = world.venue.snapshot()
    book = book_to_json(world.book)
    book["owners"] = dict(zip(snap.names, snap.owners))
    atomic.write_json(paths["book"], book)
    return paths


# ---------------------------------------------------------------------- the process


class KeeperProcess:
    """`calcm keeper` as a child process (its own session), logs appended to ``log``."""

    def __init__(self, cmd: list[str], env: dict, log: Path):
        self.cmd, self.env, self.log = cmd, env, log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT,
                                         env=self.env, start_new_session=True)
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> int | None:
        """SIGKILL (the process only, by its pid); returns its exit code."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=60) if self.proc else None

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.kill()


def last_block(state: Path) -> int | None:
    """The keeper store's last block accounted for (read-only; None before the first)."""
    if not state.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute("SELECT MAX(number) FROM blocks").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:
        return None


def wait_quiescent(w3, state: Path, proc: KeeperProcess, timeout: float = 600,
                   settle: float = 1.0) -> str:
    """Until the keeper has accounted for the head and the head stayed put for ``settle``
    seconds (``ok``), or the process died (``died``)."""
    deadline = time.monotonic() + timeout
    since = None
    while time.monotonic() < deadline:
        if not proc.alive():
            return "died"
        head = w3.eth.block_number
        if last_block(state) == head:
            since = since or (time.monotonic(), head)
            if since[1] != head:
                since = (time.monotonic(), head)
            elif time.monotonic() - since[0] >= settle:
                return "ok"
        else:
            since = None
        time.sleep(0.1)
    raise TimeoutError(f"keeper not quiescent after {timeout} s (log: {proc.log})")


def run_schedule(rounds: list[Round], world, work: Path, log=lambda m: None) -> RunResult:
    """Drive ``rounds`` against ``world`` with a keeper subprocess (module docstring)."""
    from ..chain.signer import PASSWORD_ENV
    from ..fixedpoint import PRICE_SCALE
    from .config import FAULT_ENV
    from .venue import snapshot_from_book
    t0 = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    files = keeper_inputs(world, work)
    state, fault = work / "keeper.sqlite", work / "fault"
    ks = work / "keeper-keystore.json"
    if dev_keystore(ks, "dev-only") != world.reg.keeper:
        raise RuntimeError("the dev keystore is not the deployment's keeper")
    calcm = str(Path(sys.executable).with_name("calcm"))
    cmd = [calcm, "keeper", "--rpc", world.node.url, "--deployment", str(files["deployment"]),
           "--model", str(files["model"]), "--book", str(files["book"]), "--state", str(state),
           "--keystore", str(ks), "--threads", "--workers", "1", "--json", "--poll", "0.2",
           "--refresh-blocks", "50000"]
    env = {**os.environ, PASSWORD_ENV: "dev-only", FAULT_ENV: f"file:{fault}"}
    proc = KeeperProcess(cmd, env, work / "keeper.log")
    w3, rng = world.w3, random.Random(1234)
    prices = [p / PRICE_SCALE for p in world.model.state.price]
    book = json.loads(files["book"].read_text())
    res = RunResult(rounds, {})

    def act(r: Round) -> int:
        nonlocal prices
        if r.kind == "genesis":
            proc.start()
            return w3.eth.block_number
        if r.kind == "intraday":
            prices = [p * math.exp(rng.gauss(0.0, 0.01)) for p in prices]
            return world.publish_at(world.day_start(r.day) + 3600 * r.hour, prices)
        if r.kind == "close":
            prices = list(world.days[r.day].prices)
            return world.publish_close(r.day)
        if r.kind == "root":
            acc = book["accounts"][r.index % len(book["accounts"])]
            acc["collateral"]["USDC"] = acc["collateral"].get("USDC", 0.0) + 1.0
            atomic.write_json(files["book"], book)
            from ..risk.book import load_book
            snap = snapshot_from_book(load_book(files["book"]), world.model.params, world.config)
            world.reg.post_accounts_root(snap.tree(world.config).root)
            return w3.eth.block_number
        mine_blocks(w3, 1)
        return w3.eth.block_number

    for r in rounds:
        k = r.kill
        if k is not None and k.mode == "after-send":
            fault.write_text(f"kill-after-send:{int(k.value)}:{r.index}")
        res.round_blocks[r.index] = act(r)
        if k is None:
            if wait_quiescent(w3, state, proc) != "ok":
                raise RuntimeError(f"round {r.index}: the keeper died unasked (log: {proc.log})")
            continue
        if k.mode == "delay":
            time.sleep(k.value)
            status = "killed" if proc.alive() else "dead"
            code = proc.kill()
        else:
            status = "fired" if wait_quiescent(w3, state, proc) == "died" else "idle"
            code = proc.kill()
            fault.unlink(missing_ok=True)
        res.kills.append({"round": r.index, "kind": r.kind, "mode": k.mode, "value": k.value,
                          "status": status, "exit": code,
                          "head": w3.eth.block_number, "last_block": last_block(state)})
        log(f"round {r.index} ({r.kind}): kill {k.mode} {k.value}: {status}, exit {code}")
        proc.start()
        if wait_quiescent(w3, state, proc) != "ok":
            raise RuntimeError(f"round {r.index}: the restarted keeper died (log: {proc.log})")
    proc.stop()
    res.seconds, res.starts = round(time.perf_counter() - t0, 1), proc.starts
    return res


def bench_kills(blocks: int = 100, kills: int = 20, seed: int = 2026, days: int | None = None,
                work: Path | None = None, log=lambda m: None) -> dict:
    """``calcm bench keeper --kills K --blocks B``: the full schedule on a fresh small world;
    returns the outcome with the kills, their statuses and the wall time."""
    import tempfile
    days = days or max(1, min(3, blocks // 30))
    rounds = make_schedule(blocks, kills, days, seed)
    t0 = time.perf_counter()
    world = small_world(days, log=log)
    t_world = time.perf_counter() - t0
    try:
        with tempfile.TemporaryDirectory(dir=work, prefix="calcm-kills-") as tmp:
            res = run_schedule(rounds, world, Path(tmp), log=log)
            out = outcome(world, res)
    finally:
        world.close()
    kinds = Counter(r.kind for r in rounds)
    return {"kind": "calcm-bench-keeper-kills", "blocks": blocks, "kills": kills, "seed": seed,
            "days": days, "rounds": dict(kinds), "keeper_starts": res.starts,
            "kill_log": res.kills, "outcome": out, "world_seconds": round(t_world, 1),
            "run_seconds": res.seconds}
