"""The docs a newcomer reads: every command in README, every relative link resolving, and the
whole set (README.md, docs/*.md, bench/README.md) within the 80 KB budget."""
from __future__ import annotations

import re

import click

from calcm.cli import main
from calcm.paths import REPO_ROOT

#: Bytes allowed for README.md + docs/*.md + bench/README.md together.
DOCS_BUDGET = 80_000


def _doc_files():
    return [REPO_ROOT / "README.md", REPO_ROOT / "bench" / "README.md",
            *sorted((REPO_ROOT / "docs").glob("*.md"))]


def _commands(group: click.Group, prefix: str = ""):
    """Every leaf command's full name, e.g. ``chain deploy`` (hidden commands excluded)."""
    for name, cmd in group.commands.items():
        if getattr(cmd, "hidden", False):
            continue
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, full + " ")
        else:
            yield full


def test_readme_lists_every_command():
    readme = (REPO_ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `calcm ")]
    groups = {n for n, c in main.commands.items() if isinstance(c, click.Group)}
    listed = set()
    for row in rows:                                   # "| `calcm bench book` / `prove` / ... |"
        names = re.findall(r"`([^`]+)`", row.split("|")[1])
        words = names[0].removeprefix("calcm ").split()
        if words[0] in groups:
            listed.add(" ".join(words[:2]))
            listed.update(f"{words[0]} {n.split()[0]}" for n in names[1:])
        else:
            listed.add(words[0])
    missing = sorted(set(_commands(main)) - listed)
    assert missing == [], f"README's command table lacks: {missing}"


def test_relative_links_resolve():
    broken = []
    for f in _doc_files():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", f.read_text()):
            if not target.startswith(("http://", "https://", "mailto:")) \
                    and not (f.parent / target).exists():
                broken.append(f"{f.relative_to(REPO_ROOT)} -> {target}")
    assert broken == []


def test_docs_fit_the_budget():
    sizes = {str(f.relative_to(REPO_ROOT)): f.stat().st_size for f in _doc_files()}
    assert sum(sizes.values()) <= DOCS_BUDGET, sizes
