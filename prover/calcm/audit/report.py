"""Audit checks and the report that lists them (Markdown and JSON).

Every check of ``calcm audit`` ends as one :class:`Check`: its section
(equivalence, soundness, setup, transparency), a name, a status, a one-line
summary, counts (cases, mismatches, probes, ...) and detail lines (each
mismatch, each flagged signal). The audit fails, and the command exits
non-zero, when any check has status ``FAIL``; ``WARN`` and ``SKIP`` are listed
with their reason but do not fail it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

PASS, FAIL, WARN, SKIP = "PASS", "FAIL", "WARN", "SKIP"
SECTIONS = ("equivalence", "soundness", "setup", "transparency")
SECTION_TITLES = {"equivalence": "Equivalence (circuit = Python fixed point = float model within the bound)",
                  "soundness": "Soundness probes (nothing under-constrained)",
                  "setup": "Setup integrity (ptau, zkey, verification key, verifier, manifest)",
                  "transparency": "Model transparency (parameter hash)"}
#: Detail lines kept per check in the report (the counts always cover everything).
MAX_DETAILS = 40


@dataclass
class Check:
    """One audit check and its outcome."""

    section: str
    name: str
    status: str
    summary: str
    counts: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __post_init__(self):
        if self.section not in SECTIONS:
            raise ValueError(f"unknown section {self.section!r}")
        if self.status not in (PASS, FAIL, WARN, SKIP):
            raise ValueError(f"unknown status {self.status!r}")

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_json(self) -> dict:
        return {"section": self.section, "name": self.name, "status": self.status,
                "summary": self.summary, "counts": dict(self.counts), "details": list(self.details),
                "seconds": round(self.seconds, 2)}


class Timer:
    """``with Timer() as t: ...; t.seconds``: wall time of one check."""

    def __enter__(self) -> "Timer":
        self.t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0


@dataclass
class AuditReport:
    """Every check of one audit run, in the order they ran."""

    builds: list[dict]
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(c.failed for c in self.checks)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def status_counts(self) -> dict[str, int]:
        out = {s: 0 for s in (PASS, FAIL, WARN, SKIP)}
        for c in self.checks:
            out[c.status] += 1
        return out

    def to_json(self) -> dict:
        return {"ok": self.ok, "status_counts": self.status_counts(), "builds": self.builds,
                "checks": [c.to_json() for c in self.checks], "seconds": round(self.seconds, 1)}

    def to_markdown(self) -> str:
        counts = self.status_counts()
        lines = ["# calcm audit report", "",
                 f"**Result: {'PASS' if self.ok else 'FAIL'}** "
                 f"({counts[PASS]} passed, {counts[FAIL]} failed, {counts[WARN]} warnings, "
                 f"{counts[SKIP]} skipped; {self.seconds:.0f} s)", "", "## Builds audited", ""]
        for b in self.builds:
            key = b.get("proving_key_sha256") or b.get("zkey_sha256") or "?"
            lines.append(f"- `{b['dir']}`: {b['kind']} circuit `{b['config']}`, "
                         f"{b['constraints']:,} constraints, proving key sha256 `{key[:16]}`, "
                         f"security `{b.get('security', '?')}`"
                         + (" (**INSECURE-DEV**)" if b.get("insecure_dev") else ""))
        lines.append("")
        for section in SECTIONS:
            checks = [c for c in self.checks if c.section == section]
            if not checks:
                continue
            lines += [f"## {SECTION_TITLES[section]}", "", "| status | check | result |", "|---|---|---|"]
            for c in checks:
                lines.append(f"| {c.status} | {_cell(c.name)} | {_cell(c.summary)} |")
            lines.append("")
            for c in checks:
                if not (c.counts or c.details):
                    continue
                lines.append(f"### {c.status}: {c.name}")
                lines.append("")
                if c.counts:
                    lines.append(", ".join(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}"
                                           for k, v in c.counts.items()))
                    lines.append("")
                shown = c.details[:MAX_DETAILS]
                lines += [f"- {_inline(d)}" for d in shown]
                if len(c.details) > len(shown):
                    lines.append(f"- ... and {len(c.details) - len(shown)} more")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _inline(text: str) -> str:
    return str(text).replace("\n", " ")
