"""The stage layering of docs/ARCHITECTURE.md, enforced: import-linter's ``layers`` contract
in pyproject.toml must hold, and it must actually catch a back-reference."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from calcm.paths import REPO_ROOT

LINT = Path(sys.executable).with_name("lint-imports")


def _lint(config: Path, cwd: Path) -> subprocess.CompletedProcess:
    if not LINT.exists():
        pytest.skip(f"lint-imports not installed beside {sys.executable} (make setup installs it)")
    return subprocess.run([str(LINT), "--config", str(config), "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_stages_import_only_downward():
    r = _lint(REPO_ROOT / "pyproject.toml", REPO_ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_a_back_reference_is_caught(tmp_path):
    """Copy the package, plant ``risk -> zk`` (an upward import) and expect the contract to break."""
    src = tmp_path / "prover"
    shutil.copytree(REPO_ROOT / "prover" / "calcm", src / "calcm",
                    ignore=shutil.ignore_patterns("__pycache__", "data"))
    planted = src / "calcm" / "risk" / "planted_back_reference.py"
    planted.write_text("from ..zk import config  # noqa: F401  (planted upward import)\n")
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text((REPO_ROOT / "pyproject.toml").read_text())
    r = _lint(cfg, src)  # cwd first on sys.path: the planted copy shadows the installed package
    assert r.returncode != 0, r.stdout[-2000:]
    assert "calcm.risk.planted_back_reference" in r.stdout
