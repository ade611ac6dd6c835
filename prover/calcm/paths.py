"""Where calcm finds its bundled fixtures, its node toolchain and its caches."""
from __future__ import annotations

import os
from pathlib import Path

#: The repository root (the package is installed editable from ``prover/``).
REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "fixtures"
CIRCUITS = REPO_ROOT / "circuits"
CONTRACTS = REPO_ROOT / "verifier_contracts"
NODE_MODULES = REPO_ROOT / "node_modules"
NODE_BIN = NODE_MODULES / ".bin"
#: Real price history shared beside the repo (absent on some machines).
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

DEFAULT_MARKET = FIXTURES / "market.csv"
DEFAULT_BOOK = FIXTURES / "book.json"
#: USD daily volumes aligned with DEFAULT_MARKET (ADV for the liquidity add-on).
DEFAULT_VOLUMES = FIXTURES / "volumes.csv"


def cache_dir() -> Path:
    """Per-user cache outside the repo (powers of tau, builds keyed by hash)."""
    base = os.environ.get("CALCM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "calcm")
    p = Path(base)
    p.mkdir(parents=True, exist_ok=True)
    return p


def default_build_dir() -> Path:
    """Where ``calcm setup`` puts circuit builds unless told otherwise."""
    return REPO_ROOT / "build"
