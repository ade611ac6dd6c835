"""Circom sources read as text: every ``<--`` hint, what pins it, and hint mutations.

A ``<--`` (or ``-->``) assignment adds no constraint: the witness generator
computes the value and the R1CS must pin it by other means. The project's rule
(docs/AUDIT.md, after circomlib's ``IsZero``): every hint is followed, *in the
same template*, by a constraint on the same signal: an ``===`` that mentions
it, or its use as the input of a sub-component (``c.in <== x``, ``x ==> c.in``,
an anonymous ``T(..)(x)``) whose template constrains it (a range check, a
decomposition). :func:`scan` reports each hint with the statements that pin it.
One indirection is accepted, the ``IsZero`` pattern: ``y <== f(x)`` where the
local signal ``y`` is itself in a later ``===`` (``out <== 1 - in*inv;
in*out === 0``). A hint whose signal only flows into other local signals
(``y <== x + z`` with ``y`` used no further than another assignment or a
sub-component) is not pinned: ``y`` merely follows ``x``.

The scan works on statements (text between ``;``, ``{`` and ``}``) with
comments blanked out, so offsets and line numbers match the file.
:func:`mutate` rewrites one hint as ``x <-- (expr) + delta``: with everything
else unchanged the R1CS is byte for byte the same, and the mutated witness
generator computes what a dishonest prover could feed the same constraints.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_TEMPLATE = re.compile(r"\btemplate\s+(?:parallel\s+)?(\w+)\s*\([^)]*\)\s*\{")
_IDENT = r"[A-Za-z_]\w*"


@dataclass(frozen=True)
class HintSite:
    """One ``<--``/``-->`` statement of a template."""

    file: str            # key as in the build manifest, e.g. "circuits/division.circom"
    line: int
    template: str
    target: str          # the assigned signal as written, e.g. "inv[u]"
    statement: str       # the statement, whitespace collapsed
    start: int           # offsets of the statement in the file (without the ';')
    end: int
    pinned_by: tuple[str, ...]   # "line N: statement" of each pinning statement

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def base(self) -> str:
        """The signal's name without indices (``inv[u]`` -> ``inv``)."""
        return re.match(_IDENT, self.target).group(0)

    @property
    def pinned(self) -> bool:
        return bool(self.pinned_by)

    @property
    def boolean(self) -> bool:
        """Pinned by ``x * (x - 1) === 0``: a bit, so a flip (``1 - x``) is a valid boolean."""
        b = re.escape(self.base)
        pat = rf"{b}(\[[^\]]*\])?\s*\*\s*\(\s*{b}(\[[^\]]*\])?\s*-\s*1\s*\)\s*===\s*0"
        return any(re.search(pat, p) for p in self.pinned_by)


def blank_comments(text: str) -> str:
    """``text`` with ``//`` and ``/* */`` comments replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text[i] == '"':
            j = text.find('"', i + 1)
            j = n if j < 0 else j + 1
            out.append(text[i:j])
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _templates(code: str) -> list[tuple[str, int, int]]:
    """``(name, body start, body end)`` of every template (brace matching)."""
    out = []
    for m in _TEMPLATE.finditer(code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        out.append((m.group(1), m.end(), i - 1))
    return out


def _statements(code: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """``(start, end, text)`` of the statements in ``code[start:end]``."""
    out, s = [], start
    for i in range(start, end):
        if code[i] in ";{}":
            text = code[s:i].strip()
            if text:
                lead = len(code[s:i]) - len(code[s:i].lstrip())
                out.append((s + lead, i, text))
            s = i + 1
    return out


def _mentions(expr: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", expr) is not None


def _pins(stmt: str, name: str) -> bool:
    """Does ``stmt`` constrain signal ``name`` (an ``===``, or a sub-component input)?"""
    if "===" in stmt:
        return _mentions(stmt, name)
    if "<==" in stmt:
        lhs, rhs = stmt.split("<==", 1)
        # `c.in <== x` / `c[i].in[j] <== x`: x is an input of a constraining sub-component;
        # `y <== T(..)(x)`: an anonymous component.
        return _mentions(rhs, name) and ("." in lhs or re.search(r"\w\s*\([^()]*\)\s*\(", rhs) is not None)
    if "==>" in stmt:
        lhs, rhs = stmt.split("==>", 1)
        return _mentions(lhs, name) and "." in rhs
    return False


def _line(code: str, offset: int) -> int:
    return code.count("\n", 0, offset) + 1


def _collapse(text: str) -> str:
    return " ".join(text.split())


def scan_text(key: str, text: str) -> list[HintSite]:
    """Every hint of one circom file (``key`` names it in reports)."""
    code = blank_comments(text)
    sites = []
    for name, b0, b1 in _templates(code):
        stmts = _statements(code, b0, b1)
        for k, (s, e, stmt) in enumerate(stmts):
            if "<--" in stmt:
                target = stmt.split("<--", 1)[0].strip()
            elif "-->" in stmt:
                target = stmt.split("-->", 1)[1].strip()
            else:
                continue
            base_m = re.match(_IDENT, target)
            if base_m is None:
                continue
            base = base_m.group(0)
            later = stmts[k + 1:]
            pins = [f"line {_line(code, s2)}: {_collapse(t2)}" for s2, _, t2 in later if _pins(t2, base)]
            for j, (s2, _, t2) in enumerate(later):
                # IsZero: `y <== f(x)` with the local y in a later `===`.
                if pins or "<==" not in t2 or not _mentions(t2.split("<==", 1)[1], base):
                    continue
                y = re.match(_IDENT, t2.split("<==", 1)[0].strip())
                if y and "." not in t2.split("<==", 1)[0]:
                    eq = [f"line {_line(code, s3)}: {_collapse(t3)}" for s3, _, t3 in later[j + 1:]
                          if "===" in t3 and _mentions(t3, y.group(0))]
                    if eq:
                        pins = [f"line {_line(code, s2)}: {_collapse(t2)}", *eq]
            pins = tuple(pins)
            sites.append(HintSite(key, _line(code, s), name, target, _collapse(stmt), s, e, pins))
    return sites


def scan(files: dict[str, Path]) -> list[HintSite]:
    """Every hint of ``files`` (``{manifest key: path}``), in file and line order."""
    out = []
    for key, path in sorted(files.items()):
        out += scan_text(key, Path(path).read_text())
    return out


def mutate(text: str, site: HintSite, delta: int | str) -> str:
    """``text`` with ``site``'s hint value shifted by ``delta`` (``x <-- (expr) + delta``),
    or complemented when ``delta == "flip"`` (``x <-- 1 - (expr)``: every bit flipped)."""
    stmt = text[site.start:site.end]
    if "<--" in stmt:
        lhs, rhs = stmt.split("<--", 1)
        expr = rhs.strip()
        new = f"{lhs}<-- " + (f"1 - ({expr})" if delta == "flip" else f"({expr}) + ({delta})")
    else:
        lhs, rhs = stmt.split("-->", 1)
        expr = lhs.strip()
        new = (f"1 - ({expr})" if delta == "flip" else f"({expr}) + ({delta})") + f" -->{rhs}"
    return text[:site.start] + new + text[site.end:]
