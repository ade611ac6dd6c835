"""Every circom template in circuits/ is at most 80 lines, from its `template` line to its
closing brace (issue 16 item 4): a longer one is split into named sub-templates with headers."""
from __future__ import annotations

import re

from calcm.paths import CIRCUITS

MAX_LINES = 80
_START = re.compile(r"^\s*template\s+(\w+)")


def template_lengths(text: str) -> dict[str, int]:
    """template name -> lines from its `template` line to the line closing its body (brace depth
    counted outside // and /* */ comments)."""
    out: dict[str, int] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _START.match(lines[i])
        if not m:
            i += 1
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            code = re.sub(r"//.*", "", lines[j])
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth == 0:
                break
            j += 1
        out[m.group(1)] = j - i + 1
        i = j + 1
    return out


def _strip_block_comments(text: str) -> str:
    """/* ... */ blanked to its newlines, so line counts are unchanged."""
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def test_template_lengths_counts_to_the_closing_brace():
    src = "template A(n) {\n    for (var i = 0; i < n; i++) {\n    }\n}\n// x {\ntemplate B() {\n}\n"
    assert template_lengths(src) == {"A": 4, "B": 2}


def test_every_template_is_at_most_80_lines():
    too_long = {f"{p.relative_to(CIRCUITS)}:{name}": n
                for p in sorted(CIRCUITS.rglob("*.circom"))
                for name, n in template_lengths(_strip_block_comments(p.read_text())).items()
                if n > MAX_LINES}
    assert not too_long, f"templates over {MAX_LINES} lines (split them): {too_long}"
