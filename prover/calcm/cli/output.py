"""Shared output helpers: JSON on ``--json``, rich tables otherwise."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

console = Console()


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
        t.add_row(*[f"{v:,.2f}" if isinstance(v, float) else str(v) for v in r])
    (out or console).print(t)
