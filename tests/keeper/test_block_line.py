"""The keeper's per-block text line says why nothing moved: the block's reason and notes
(e.g. ``model step waits: ...``) are on the same single line."""
from __future__ import annotations

import io

from calcm.keeper.log import EventLog


def _line(**kw) -> str:
    out = io.StringIO()
    log = EventLog(stream=out)
    log.emit("block", block=43, accounts=0, proven=0, groups=0, liquidatable=0, model=[],
             day=20369, model_version=4, prove_seconds=0.0, submit_seconds=0.0,
             total_seconds=0.1, gas_used=0, reasons={}, coalesced=0, tier_mismatch=[], **kw)
    return out.getvalue()


def test_block_line_carries_reason_and_notes():
    text = _line(note="model version 4 is not usable: no margins",
                 notes=["model step waits: day 20370's close: BTC has no round on 2025-10-10"])
    assert len(text.strip().splitlines()) == 1
    assert "no round on 2025-10-10" in text and "not usable" in text
    plain = _line(note=None, notes=[])
    assert "waits" not in plain and len(plain.strip().splitlines()) == 1
