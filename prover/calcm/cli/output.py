"""Shared output helpers: JSON on ``--json``, rich tables otherwise."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

#: Off a terminal (pipes, CI logs) rich would assume 80 columns and cut table cells
#: ("out/proofs/group-0…"); there nothing wraps: a table is as wide as its content.
PIPE_WIDTH = 4096


class _Console(Console):
    """The shared console: the terminal's width on a TTY, ``PIPE_WIDTH`` otherwise."""

    @property
    def size(self):
        from rich.console import ConsoleDimensions
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(PIPE_WIDTH, size.height)

    @size.setter
    def size(self, new_size) -> None:
        self._width, self._height = new_size


console = _Console()


def fmt_number(v: float) -> str:
    """A float for a table: 2 decimals from 1 up, 4 significant digits below (DOGE 0.004960)."""
    if not math.isfinite(v):
        return str(v)
    if v == 0 or abs(v) >= 1:
        return f"{v:,.2f}"
    return f"{v:.4g}" if abs(v) >= 1e-4 else f"{v:.3e}"


def _default(o: Any):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return _finite(float(o))
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "__dataclass_fields__"):
        return {k: getattr(o, k) for k in o.__dataclass_fields__}
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _finite(x: float):
    return x if math.isfinite(x) else (None if math.isnan(x) else ("inf" if x > 0 else "-inf"))


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (numpy values converted; inf as a string)."""
    print(json.dumps(obj, default=_default, indent=2, allow_nan=False))


def table(title: str, columns: list[str], rows: list[list[Any]], out: Console | None = None) -> None:
    """Print a rich table (on ``out``, default the shared console)."""
    t = Table(title=title)
    for c in columns:
        t.add_column(c, justify="right" if c not in ("account", "id", "tier") else "left")
    for r in rows:
        t.add_row(*[fmt_number(v) if isinstance(v, float) else str(v) for v in r])
    (out or console).print(t)
