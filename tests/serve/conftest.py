"""Shared fixtures of the dashboard tests: one warm server per session, and headless Chromium.

- ``warm``: the :class:`~calcm.serve.warm.Warmup` every app of the session shares (the bundled
  book, ``fast`` profile, a 7-day cascade window around the fixture crash, a 20-day backtest),
  so the model is fitted once for the API tests and the browser tests together;
- ``server``: ``calcm serve``'s application under uvicorn in a thread on a free 127.0.0.1 port;
- ``chromium``: the ``@sparticuz/chromium`` binary (npm), whose ``executablePath()`` decompresses
  it to /tmp: asked once per session through ``node``; playwright (PyPI) launches it with
  ``executable_path`` (its own browser download needs the internet);
- ``cli_whatif``: ``calcm whatif --json`` for the trade the browser test submits, started at
  once in a subprocess so that its model fit overlaps the server's.

The navigation-timing load figures of each page are collected in ``LOAD_MS`` and printed
in the terminal summary.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from calcm.paths import REPO_ROOT

WHATIF_ACCOUNT = "whale"
WHATIF_TRADES = ["BTC-PERP:+2", "ETH-PERP:-5"]
WHATIF_DEPOSIT = "USDC:1000"
PROFILE = "fast"
LOAD_MS: dict[str, list[float]] = {}


def pytest_terminal_summary(terminalreporter):
    if LOAD_MS:
        terminalreporter.write_line("calcm serve: navigation-timing load event, warm server (ms): " + ", ".join(
            f"{p} {min(v):.0f} (of {len(v)}: {' '.join(f'{x:.0f}' for x in v)})" for p, v in LOAD_MS.items()))


@pytest.fixture(scope="session")
def cli_whatif():
    """A ``Popen`` of ``calcm whatif --json`` (the browser test reads its output)."""
    cmd = [str(Path(sys.executable).with_name("calcm")), "whatif", "--account", WHATIF_ACCOUNT, "--profile", PROFILE,
           *[a for t in WHATIF_TRADES for a in ("--trade", t)], "--deposit", WHATIF_DEPOSIT, "--json"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    yield p
    if p.poll() is None:
        p.kill()
        p.communicate()


@pytest.fixture(scope="session")
def keeper_store(tmp_path_factory):
    """A small keeper store: three blocks, a mined step and margin submission, a rejected one."""
    from calcm.keeper.store import Store
    path = tmp_path_factory.mktemp("keeper") / "keeper.sqlite"
    with Store(path) as st:
        st.bind(chain_id="31337", registry="0x" + "ab" * 20)
        st.record_blocks([(10, "0x01", "processed", None), (11, "0x02", "skipped", "stale price"),
                          (12, "0x03", "processed", None)])
        st.open_submission("step:19723", "step", 10)
        st.update_submission("step:19723", "mined", tx_hash="0xaa", receipt_block=10, gas_used=301_000)
        st.open_submission("margin:1:0:1", "margin", 12, group=0, root_version=1)
        st.update_submission("margin:1:0:1", "mined", tx_hash="0xbb", receipt_block=12, gas_used=412_345)
        st.open_submission("margin:1:1:1", "margin", 12, group=1, root_version=1)
        st.update_submission("margin:1:1:1", "rejected", error="WrongShape(4, 8)")
    return path


@pytest.fixture(scope="session")
def settings(keeper_store):
    from calcm.serve.settings import ServeSettings
    return ServeSettings(profile=PROFILE, store=keeper_store, cascade_start="2023-01-18", cascade_end="2023-01-24",
                         backtest_days=20, backtest_sims=100, prefetch_accounts=False)


@pytest.fixture(scope="session")
def warm(settings, cli_whatif):
    from calcm.cli.serve_trader import trader_service
    from calcm.serve.warm import Warmup
    w = Warmup(settings, trader_service, log=False).start()
    yield w
    w.close()


@pytest.fixture(scope="session")
def client(settings, warm):
    from starlette.testclient import TestClient

    from calcm.cli.serve_cmd import build_app
    with TestClient(build_app(settings, warm)) as c:
        yield c


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(settings, warm):
    """Base URL of the dashboard served by uvicorn in a thread (the session's warm model)."""
    import uvicorn

    from calcm.cli.serve_cmd import build_app
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(build_app(settings, warm), host="127.0.0.1", port=port,
                                        log_level="warning", lifespan="on"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if not t.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(10)


CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--no-zygote", "--disable-gpu", "--use-gl=angle",
                 "--use-angle=swiftshader", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def chromium_path():
    """The @sparticuz/chromium binary, decompressed once per session (or a skip naming why)."""
    node = shutil.which("node")
    pkg = REPO_ROOT / "node_modules" / "@sparticuz" / "chromium"
    if node is None or not pkg.is_dir():
        pytest.skip(f"no browser: {'node not on PATH' if node is None else f'{pkg} missing (npm ci)'}")
    js = "import('@sparticuz/chromium').then(async m => console.log(await m.default.executablePath()))"
    r = subprocess.run([node, "-e", js], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    path = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else ""
    if not path or not Path(path).is_file():
        pytest.skip(f"@sparticuz/chromium executablePath() failed: {r.stderr.strip()[-300:]}")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import Error, sync_playwright
    with sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        except Error as exc:
            pytest.skip(f"Chromium at {chromium_path} does not launch: {str(exc).splitlines()[0]}")
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    """A fresh page that records console errors and uncaught exceptions in ``page.errors``."""
    ctx = browser.new_context()
    p = ctx.new_page()
    p.errors = []
    p.on("console", lambda m: p.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    p.on("pageerror", lambda e: p.errors.append(f"pageerror: {e}"))
    yield p
    ctx.close()


@pytest.fixture(scope="session")
def cli_whatif_doc(cli_whatif) -> dict:
    """The JSON ``calcm whatif --json`` printed (waits for the subprocess once)."""
    out, err = cli_whatif.communicate(timeout=300)
    assert cli_whatif.returncode == 0, err[-2000:]
    return json.loads(out)


@pytest.fixture(scope="session")
def missing_store_settings(settings, tmp_path_factory):
    return replace(settings, store=tmp_path_factory.mktemp("nostore") / "keeper.sqlite")
