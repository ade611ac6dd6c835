"""An embedded ``anvil`` node: the pinned binary from ``node_modules``, on a free loopback port.

``Anvil`` is a context manager: it starts the node, waits until it answers JSON-RPC, and
stops it (SIGTERM, then SIGKILL) on exit, on interpreter exit, and on error. It runs the
platform binary that the ``@foundry-rs/anvil`` package ships directly (not the node
wrapper), so the process we stop is the node itself.

Defaults: chain id 31337, 10 unlocked dev accounts, auto-mining (one block per
transaction), the hardfork given by :data:`DEFAULT_HARDFORK` unless told otherwise.
"""
from __future__ import annotations

import atexit
import json
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..paths import NODE_MODULES

ANVIL_VERSION = "1.7.1"
#: anvil's own default is "latest"; we pin a named fork so gas figures are reproducible.
DEFAULT_HARDFORK = "prague"


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM the node when calcm dies, so that not
    even a killed parent (no atexit, no finally) leaves a node behind. No-op elsewhere."""
    if sys.platform.startswith("linux"):
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class AnvilError(RuntimeError):
    """The node could not be started or did not become ready."""


def anvil_binary() -> Path:
    """The platform binary of the pinned ``@foundry-rs/anvil`` package."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    osname = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}[platform.system()]
    exe = "anvil.exe" if osname == "win32" else "anvil"
    path = NODE_MODULES / "@foundry-rs" / f"anvil-{osname}-{arch}" / "bin" / exe
    if not path.exists():
        raise AnvilError(f"anvil binary not found at {path} (run `npm ci`)")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc_ready(url: str, timeout: float = 1.0) -> bool:
    """True when ``url`` answers ``eth_chainId``."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId",
                       "params": []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return "result" in json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Anvil:
    """A local anvil node for the lifetime of a ``with`` block (or until :meth:`stop`).

    Parameters
    ----------
    port: TCP port on 127.0.0.1; a free one when None.
    hardfork: EVM hardfork name (anvil's ``--hardfork``); None for anvil's default.
    chain_id: the chain id the node reports.
    block_time: seconds between blocks (interval mining) or None for auto-mining.
    """

    def __init__(self, port: int | None = None, hardfork: str | None = DEFAULT_HARDFORK,
                 chain_id: int = 31337, block_time: float | None = None,
                 startup_timeout: float = 30.0):
        self.port = port or free_port()
        self.hardfork, self.chain_id, self.block_time = hardfork, chain_id, block_time
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(self.port),
               "--chain-id", str(self.chain_id), "--silent"]
        if self.hardfork:  # None: anvil's own default ("latest")
            cmd += ["--hardfork", self.hardfork]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        return cmd

    def start(self) -> "Anvil":
        if self.proc is not None:
            return self
        # stderr goes to a file, not a pipe: a chatty node must never block on a full pipe.
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._log,
                                     preexec_fn=_die_with_parent)
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace").strip()[-2000:]
                self._log.close()
                self.proc = None
                raise AnvilError(f"anvil exited at start: {err or 'no message'}")
            if rpc_ready(self.url, timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise AnvilError(f"anvil did not answer on {self.url} within {self.startup_timeout}s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._log.close()

    def __enter__(self) -> "Anvil":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
