"""The keeper's event log: one JSON object a line (``--json``) or readable rich lines.

Every event has ``ts`` (unix seconds), ``event`` and its fields. Events: ``start``,
``block`` (the per-block line), ``skip`` (a block refused, with ``reason``), ``submission``
(one settled submission), ``retry`` (an RPC call retried), ``reorg``, ``error``, ``stop``.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from rich.console import Console


def _plain(v: Any):
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return str(v)


class EventLog:
    """Writes events as JSON lines to ``stream`` (``json_mode``) or as rich text."""

    def __init__(self, json_mode: bool = False, stream: TextIO | None = None, quiet: bool = False):
        self.json_mode, self.quiet = json_mode, quiet
        self.stream = stream or sys.stdout
        self.console = Console(file=self.stream if not json_mode else sys.stderr,
                               width=160 if not (self.stream.isatty() if hasattr(self.stream, "isatty")
                                                 else False) else None)
        self.events: list[dict] = []

    def emit(self, event: str, **fields) -> dict:
        rec = {"ts": round(time.time(), 3), "event": event, **fields}
        self.events.append(rec)
        if self.quiet:
            return rec
        if self.json_mode:
            self.stream.write(json.dumps(rec, default=_plain) + "\n")
            self.stream.flush()
        elif (text := self._text(rec)) is not None:
            self.console.print(text, highlight=False, soft_wrap=True)  # one line per event
        return rec

    @staticmethod
    def _text(r: dict) -> str | None:
        e = r["event"]
        if e == "block":
            gas = f"{r['gas_used']:,}" if r.get("gas_used") else "-"
            model = r.get("model") or "-"
            model = ",".join(model) if isinstance(model, list) else str(model)
            why = ", ".join(f"{k} {v}" for k, v in (r.get("reasons") or {}).items()) or "-"
            said = "; ".join([*(r.get("notes") or []), *([r["note"]] if r.get("note") else [])])
            return (f"[bold]block {r['block']:>6}[/] accounts {r['accounts']:>3}  proven "
                    f"{r['proven']:>3} ({r['groups']} groups)  liquidatable {r['liquidatable']:>2}  "
                    f"model {model:<14} v{r.get('model_version')} prove {r['prove_seconds']:6.2f} s  total "
                    f"{r['total_seconds']:6.2f} s  gas {gas:>10}  [dim]{why}[/]"
                    + (f"  [yellow]{said}[/]" if said else ""))
        if e == "skip":
            return f"[yellow]block {r['block']:>6} skipped:[/] {r['reason']}"
        if e == "submission":
            if r["status"] == "mined" and not r.get("detail"):
                return None  # the block line sums them up; --json has every one
            gas = f" gas {r['gas_used']:,}" if r.get("gas_used") else ""
            return f"  [dim]{r['status']:<10} {r['key']}{gas} {r.get('detail') or ''}[/]"
        if e == "retry":
            return (f"[yellow]rpc retry[/] {r['what']} attempt {r['attempt']} in "
                    f"{r['delay']:.2f} s ({r['error']})")
        if e == "reorg":
            return (f"[red]reorg:[/] block {r['block']} hash changed; rolled back to "
                    f"{r['fork']}, {r['reopened']} submissions reopened")
        if e == "error":
            return f"[red]error:[/] {r.get('message')}"
        rest = " ".join(f"{k}={v}" for k, v in r.items() if k not in ("ts", "event"))
        return f"[cyan]{e}[/] {rest}"
