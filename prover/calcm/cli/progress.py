"""Progress on stderr for every CLI step that can take more than ~2 s.

``with step("fitting GARCH", estimate=6):`` shows a rich bar filling against the
estimate (seconds; capped at 99% until the step ends) or, without one, a spinner
with the elapsed time. It is transient (gone when the step ends), drawn on stderr
only when stderr is a terminal, and off under ``--json``: piped output and JSON
stay byte-for-byte what they were. ``calcm demo`` has its own per-circuit estimates
(``demo_output.SetupProgress``).
"""
from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

from rich.console import Console

_err = Console(stderr=True)


def enabled_for(as_json: bool = False) -> bool:
    """Progress is drawn on a terminal's stderr, never under ``--json``."""
    return not as_json and sys.stderr.isatty()


@contextmanager
def step(description: str, *, estimate: float | None = None, enabled: bool = True):
    """Show progress of one step (``estimate`` in seconds, or None for a spinner)."""
    if not (enabled and sys.stderr.isatty()):
        yield
        return
    from rich.progress import (BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    cols = [SpinnerColumn(), TextColumn("{task.description}")]
    if estimate:
        cols += [BarColumn(), TextColumn(f"est. {estimate:.0f} s"), TimeRemainingColumn()]
    cols.append(TimeElapsedColumn())
    progress = Progress(*cols, console=_err, transient=True)
    task = progress.add_task(description, total=estimate or None)
    done = threading.Event()

    def tick():
        t0 = time.monotonic()
        while not done.wait(0.2):
            if estimate:
                progress.update(task, completed=min(time.monotonic() - t0, 0.99 * estimate))

    progress.start()
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        progress.stop()
