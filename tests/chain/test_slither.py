"""slither (0.11.6) over verifier_contracts/: zero unexplained findings (issue 13 item 4).

slither analyses the Foundry build (foundry.toml, tools/solc_shim: the pinned solcjs) with
verifier_contracts/slither.config.json, which filters only node_modules and excludes no detector.
Every finding must be listed in verifier_contracts/slither-triage.json with a one-line reason;
a finding not listed fails (the message prints entries to paste and give a reason), and so
does a listed entry slither no longer reports (the triage must stay exact).

A finding's key is (detector, file of its first element, description with the source
locations removed), so moving code does not invalidate the triage but changing it does.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from calcm.paths import CONTRACTS, NODE_BIN, REPO_ROOT

CONFIG = CONTRACTS / "slither.config.json"
TRIAGE = CONTRACTS / "slither-triage.json"
ALLOWED_CONFIG = {"filter_paths", "foundry_compile_all", "json_types"}


def finding_key(result: dict) -> tuple[str, str, str]:
    """(check, file, description without "(path#lines)" locations, whitespace collapsed)."""
    elements = result.get("elements") or [{}]
    path = elements[0].get("source_mapping", {}).get("filename_relative", "")
    text = re.sub(r" \([^()]*#[0-9-]+\)", "", result["description"])
    return result["check"], path, " ".join(text.split())


def test_finding_key_strips_locations_only():
    r = {"check": "timestamp", "elements": [{"source_mapping": {"filename_relative": "a.sol"}}],
         "description": "C.f() (a.sol#3-9) uses timestamp\n\t- x < y (a.sol#5)\n"}
    assert finding_key(r) == ("timestamp", "a.sol", "C.f() uses timestamp - x < y")


def test_config_has_no_blanket_exclusion():
    config = json.loads(CONFIG.read_text())
    extra = config.keys() - ALLOWED_CONFIG
    assert not extra, f"unexpected slither options (no detector may be excluded): {extra}"
    assert config["filter_paths"] == "node_modules"


@pytest.fixture(scope="module")
def slither_findings(tmp_path_factory):
    out = tmp_path_factory.mktemp("slither") / "slither.json"
    # forge on PATH for crytic-compile; its own build dir so the forge tests' cache stays warm.
    env = dict(os.environ, PATH=f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               FOUNDRY_OUT="build/slither/out", FOUNDRY_CACHE_PATH="build/slither/cache")
    proc = subprocess.run([sys.executable, "-m", "slither", ".", "--config-file", str(CONFIG),
                           "--json", str(out)], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    if not out.exists():
        pytest.fail(f"slither wrote no report (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    report = json.loads(out.read_text())
    assert report["success"], report.get("error")
    return report.get("results", {}).get("detectors", [])


def test_every_slither_finding_is_triaged(slither_findings):
    triage = json.loads(TRIAGE.read_text())["findings"]
    triaged = {(e["check"], e["file"], e["finding"]): e["reason"] for e in triage}
    assert len(triaged) == len(triage), "duplicate triage entries"
    assert all(r.strip() and "TODO" not in r and "\n" not in r for r in triaged.values())
    found = [finding_key(r) for r in slither_findings]
    untriaged = [{"check": c, "file": f, "finding": d, "reason": "TODO"}
                 for c, f, d in found if (c, f, d) not in triaged]
    stale = [k for k in triaged if k not in set(found)]
    assert not untriaged, ("untriaged slither findings (fix them, or add to "
                           f"{TRIAGE.name} with a reason):\n{json.dumps(untriaged, indent=1)}")
    assert not stale, f"triage entries slither no longer reports (remove them): {stale}"
    assert slither_findings, "slither reported nothing: is the build empty?"
