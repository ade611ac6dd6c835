"""The expensive results of one server, computed once in a background thread and cached in memory.

Pieces, in the order they are computed (each a :class:`concurrent.futures.Future`; a view
waits only for the pieces it shows)::

    inputs     (MarketData, Book, ModelParams)                  load_market / load_book
    report     MarginReport of the book (risk.report.margin_report: float, baselines, published)
    service    the AccountService the CLI wired in (built from the report), or None
    model      dict: the model view's document (model_view.model_data)
    cascade    (Book, {regime: SimulationResult}) of liquidation.replay.run_replay on the window
    backtest   BacktestReport (liquidation.backtest.run_backtest, VaR only) of the last days

Per-account documents (``account(id)``) are computed on first request, in a second
single worker, and cached too; with ``settings.prefetch_accounts`` every account of the
book is queued after the pieces above (an option account's tier-boundary search takes
seconds on the published model). Nothing is recomputed while the server runs, so a warm
page is a lookup plus HTML formatting. Each finished piece prints one line on stderr
with its wall time.
"""
from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from .settings import ServeSettings

PIECES = ("inputs", "report", "service", "model", "cascade", "backtest")


class Warmup:
    """Background precomputation for one :class:`ServeSettings` (see the module docstring).

    ``service_factory(report, inputs, settings) -> AccountService`` builds the account
    view's service from the margin report (None: the account view says it is not wired).
    """

    def __init__(self, settings: ServeSettings, service_factory=None, log=True):
        self.settings = settings
        self.service_factory = service_factory
        self.log = log
        self.futures: dict[str, Future] = {p: Future() for p in PIECES}
        self.seconds: dict[str, float] = {}
        self._accounts: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._side = ThreadPoolExecutor(1, thread_name_prefix="calcm-serve-account")
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Warmup":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="calcm-serve-warm", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        self._side.shutdown(wait=False, cancel_futures=True)

    def _say(self, msg: str) -> None:
        if self.log:
            print(f"calcm serve: {msg}", file=sys.stderr, flush=True)

    def _run(self) -> None:
        steps = {"inputs": self._inputs, "report": self._report, "service": self._service,
                 "model": self._model, "cascade": self._cascade, "backtest": self._backtest}
        for name in PIECES:
            t0 = time.perf_counter()
            try:
                value = steps[name]()
            except BaseException as exc:          # noqa: BLE001 - kept for the views to show
                self.futures[name].set_exception(exc)
                self._say(f"{name} failed: {exc}")
                continue
            self.seconds[name] = time.perf_counter() - t0
            self.futures[name].set_result(value)
            self._say(f"{name} ready in {self.seconds[name]:.1f} s")
        if self.settings.prefetch_accounts:
            self._prefetch()

    def _prefetch(self) -> None:
        t0 = time.perf_counter()
        try:
            ids = [a.id for a in self.get("inputs")[1].accounts]
            if self.get("service") is None:
                return
        except Exception:                     # already reported by its piece
            return
        for account_id in ids:
            try:
                self.account(account_id)
            except Exception as exc:          # noqa: BLE001 - the page shows it on request
                self._say(f"account {account_id} failed: {exc}")
        self._say(f"{len(ids)} account pages ready in {time.perf_counter() - t0:.1f} s")

    def get(self, name: str, timeout: float | None = None):
        """The piece ``name``, waiting for it (its exception is re-raised)."""
        return self.futures[name].result(timeout)

    def status(self) -> dict:
        """``{piece: "ready" | "failed" | "pending"}`` and the seconds each took."""
        st = {}
        for name, f in self.futures.items():
            st[name] = "pending" if not f.done() else ("failed" if f.exception() else "ready")
        return {"pieces": st, "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
                "ready": all(v == "ready" for v in st.values())}

    # ------------------------------------------------------------------ per account
    def account(self, account_id: str, timeout: float | None = None) -> dict:
        """The account view's document for ``account_id`` (computed once, then cached)."""
        service = self.get("service", timeout)
        with self._lock:
            f = self._accounts.get(account_id)
            if f is None:
                f = self._accounts[account_id] = self._side.submit(service.summary, account_id)
        try:
            return f.result(timeout)
        except Exception:
            with self._lock:              # a failed lookup (e.g. unknown id) is not cached
                if self._accounts.get(account_id) is f:
                    del self._accounts[account_id]
            raise

    # ------------------------------------------------------------------ pieces
    def _inputs(self):
        from ..market import load_market
        from ..risk.book import load_book
        from ..risk.model import parameter_profile
        s = self.settings
        md = load_market(s.market, s.volumes_path)
        book = load_book(s.book)
        params = replace(parameter_profile(s.profile), es_level=s.es_level, vol_model=s.vol_model)
        return md, book, params

    def _report(self):
        from ..risk.report import margin_report
        md, book, params = self.get("inputs")
        return margin_report(md, book, params)

    def _service(self):
        if self.service_factory is None:
            return None
        return self.service_factory(self.get("report"), self.get("inputs"), self.settings)

    def _model(self):
        from .model_view import model_data
        return model_data(self.get("report"), self.get("inputs")[0])

    def _cascade(self):
        from ..liquidation.replay import run_replay
        md, _, _ = self.get("inputs")
        start, end = self.settings.cascade_window
        return run_replay(md, start, end, regimes=self.settings.regimes)

    def _backtest(self):
        from ..liquidation.backtest import run_backtest
        md, _, _ = self.get("inputs")
        end = md.dates[-2]                      # the last day with a next close
        start = end - np.timedelta64(self.settings.backtest_days - 1, "D")
        return run_backtest(md, str(start), str(end), n_sims=self.settings.backtest_sims, margin=False)
