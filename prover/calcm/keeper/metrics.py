"""Prometheus-style metrics of the keeper: a text file, and optionally a loopback endpoint.

The text follows the Prometheus exposition format (``# HELP``, ``# TYPE``, one sample a
line). :meth:`Metrics.write` replaces the file atomically after every block, so a node
exporter's textfile collector never reads half a file; :meth:`Metrics.serve` answers
``GET /metrics`` on ``127.0.0.1:<port>`` from a daemon thread.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .. import atomic

#: name -> (type, help)
METRICS = {
    "calcm_keeper_blocks_total": ("counter", "Blocks accounted for, by status."),
    "calcm_keeper_last_block": ("gauge", "Highest block number accounted for."),
    "calcm_keeper_proofs_total": ("counter", "Proofs made, by kind."),
    "calcm_keeper_submissions_total": ("counter", "Submissions settled, by kind and status."),
    "calcm_keeper_accounts_proven_total": ("counter", "Accounts covered by mined margin batches."),
    "calcm_keeper_gas_used_total": ("counter", "Gas used by mined submissions."),
    "calcm_keeper_liquidatable_accounts": ("gauge", "Accounts at tier 3 (fixed point) in the last block."),
    "calcm_keeper_block_seconds": ("gauge", "Wall time of the last processed block, by phase."),
    "calcm_keeper_rpc_retries_total": ("counter", "JSON-RPC calls retried after a transport error."),
    "calcm_keeper_reorgs_total": ("counter", "Reorgs detected (a processed block's hash changed)."),
    "calcm_keeper_prover_workers": ("gauge", "Dask workers available for proving."),
}


def _labels(labels: dict) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{str(v)}"' for k, v in sorted(labels.items()))
    return "{" + body + "}"


class Metrics:
    """Counters and gauges with labels; thread-safe (the HTTP thread reads them)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self._values: dict[tuple[str, tuple], float] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def inc(self, name: str, value: float = 1, **labels) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] = self._values.get(key, 0) + value

    def set(self, name: str, value: float, **labels) -> None:
        with self._lock:
            self._values[(name, tuple(sorted(labels.items())))] = value

    def get(self, name: str, **labels) -> float:
        return self._values.get((name, tuple(sorted(labels.items()))), 0)

    def text(self) -> str:
        with self._lock:
            items = sorted(self._values.items())
        out = []
        for name, (kind, help_) in METRICS.items():
            samples = [(dict(lb), v) for (n, lb), v in items if n == name]
            if not samples:
                continue
            out += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
            out += [f"{name}{_labels(lb)} {v:g}" for lb, v in samples]
        return "\n".join(out) + "\n"

    def write(self) -> None:
        if self.path is not None:
            atomic.write_text(self.path, self.text())

    def serve(self, port: int) -> int:
        """Serve ``/metrics`` on ``127.0.0.1:port`` (0: a free port); returns the port."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if self.path.rstrip("/") != "/metrics":
                    self.send_error(404)
                    return
                body = metrics.text().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep the keeper's output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self._server.server_address[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
