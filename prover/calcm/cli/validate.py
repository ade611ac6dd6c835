"""Every CLI value is checked here, after parsing and before any command does work.

One table per value class, keyed by the parameter's name (``dest``), optionally
overridden per command path (``"chain deploy"``). A value out of range or malformed
is a :class:`click.BadParameter`: one line naming the option, exit code 2.
``tests/cli/test_bad_input_matrix.py`` asserts that every number, string and path
parameter of the click tree has a rule here, so a new option cannot escape the checks.

Rules
-----
- numbers (``NUMBERS``): ``(lo, hi, lo_open, hi_open)``; NaN and infinities are always errors.
- strings (``STRINGS``): the name of a checker in ``STRING_CHECKS`` (``"free"`` = any
  non-empty text, checked later against data, e.g. an account id against the book).
- paths (``PATHS``): ``in`` an existing file; ``in_dir`` an existing directory;
  ``in_any`` an existing file or directory; ``in_opt`` a file that may be absent;
  ``out`` a file to write (not a directory, parent writable or creatable);
  ``out_dir`` a directory to write (not a file, writable or creatable).
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import click

U64 = 2 ** 64 - 1
U256 = 2 ** 256 - 1
SEED = (0, 2 ** 32 - 1, False, False)
PORT = (1, 65535, False, False)
COUNT = (1, 10 ** 6, False, False)          # a positive count of things
SMALL = (1, 64, False, False)               # workers, threads, assets per proof
SECONDS = (1, 10 ** 9, False, False)        # an age or delay in seconds or blocks

#: Number rules by parameter name: (lo, hi, lo_open, hi_open); None = unbounded.
NUMBERS: dict[str, tuple] = {
    "es_level": (0.5, 1.0, False, True), "seed": SEED, "jobs": SMALL, "threads": SMALL,
    "workers": SMALL, "max_wires": (1, 10 ** 8, False, False), "max_hints": (0, 10 ** 6, False, False),
    "random_cases": (0, 10 ** 4, False, False), "random_books": (0, 10 ** 4, False, False),
    "sims": COUNT, "accounts": COUNT, "group_size": (1, 256, False, False),
    "instruments": (1, 4096, False, False), "scenarios": COUNT, "underlyings": (1, 256, False, False),
    "repeat": (1, 100, False, False), "check": (0, 10 ** 6, False, False), "chunk": COUNT,
    "fx_accounts": (0, 10 ** 6, False, False), "n_assets": SMALL, "max_power": (8, 28, False, False),
    "blocks": COUNT, "kills": (0, 1000, False, False), "chunks": (1, 10 ** 4, False, False),
    "prove_max": (0, 10 ** 9, False, False), "days": (1, 10 ** 4, False, False),
    "param_hash": (0, U256, False, False), "genesis_state": (0, U256, False, False),
    "genesis_day": (0, 10 ** 6, False, False), "n_parts": (0, 10 ** 4, False, False),
    "max_age": SECONDS, "max_price_age": SECONDS, "option_max_age": SECONDS,
    "timelock_delay": (0, 10 ** 9, False, False), "keeper_stall": SECONDS, "port": PORT,
    "metrics_port": PORT, "block_time": (0.0, 3600.0, True, False), "block": (0, U64, False, False),
    "chain_id": (1, U64, False, False), "intraday": (0, 100, False, False),
    "max_move": (0.0, 10.0, True, False), "depth": (1, 32, False, False),
    "refresh_blocks": COUNT, "near_mm_buffer": (0.0, 10.0, False, False),
    "poll": (0.0, 3600.0, True, False), "idle_exit": (0.0, 10 ** 6, True, False),
    "target_ratio": (0.0, 100.0, True, False), "penalty_rate": (0.0, 1.0, False, True),
    "k_tail": (1, 10 ** 6, False, False), "batch_size": (1, 1024, False, False),
    "backtest_days": (1, 10 ** 4, False, False), "backtest_sims": COUNT,
    "search_factor": (1.0, 10 ** 6, True, False), "levels": (0.5, 1.0, False, True),
    "n_sims": COUNT, "cap": (0.0, 1.0, True, True),
}
#: Per-command overrides of NUMBERS: {command path: {name: rule}}.
NUMBERS_BY_COMMAND: dict[str, dict[str, tuple]] = {
    "cascade crowd": {"days": (1, 10 ** 4, False, False)},
}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HEX64 = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_HOST = re.compile(r"^[A-Za-z0-9.\-:]+$")
_WORD = re.compile(r"^[a-z][a-z0-9]*$")


def _date(v: str) -> str | None:
    if not _DATE.match(v):
        return "expected a date YYYY-MM-DD"
    try:
        import datetime
        datetime.date.fromisoformat(v)
    except ValueError:
        return "not a calendar date"
    return None


def _address(v: str) -> str | None:
    return None if re.fullmatch(r"0x[0-9a-fA-F]{40}", v) else f"{v!r} is not an address (0x + 40 hex digits)"


def _rpc(v: str) -> str | None:
    return None if re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?(/\S*)?", v) \
        else "expected an http(s)://host:port JSON-RPC URL"


def _scheduler(v: str) -> str | None:
    return None if re.fullmatch(r"(tcp|tls|inproc|ucx)://\S+", v) else "expected a dask address tcp://host:port"


def _list(cast, lo=None, allowed=None, noun="item"):
    """A comma-separated list; errors name the item by position (``price 1: ...``)."""
    def check(v: str) -> str | None:
        items = [x.strip() for x in v.split(",")]
        if not items or any(not x for x in items):
            return "expected a comma-separated list with no empty item"
        for i, x in enumerate(items):
            if allowed is not None and x not in allowed:
                return f"{noun} {i}: {x!r} is not one of {', '.join(allowed)}"
            if cast is None:
                continue
            try:
                n = cast(x)
            except ValueError:
                return f"{noun} {i}: {x!r} is not a number"
            if not math.isfinite(n) or (lo is not None and n < lo):
                return f"{noun} {i}: {x!r} is out of range (must be {'> 0' if lo == 1e-18 else f'>= {lo}'})"
        return None
    return check


def _episode(v: str) -> str | None:
    from ..liquidation.episodes import EPISODES
    return None if v in EPISODES else f"unknown episode; one of {', '.join(sorted(EPISODES))}"


def _window(v: str) -> str | None:
    from ..liquidation.episodes import parse_window
    try:
        parse_window(v)
    except ValueError as exc:
        return getattr(exc, "message", str(exc))
    return None


def _configs(v: str) -> str | None:
    from ..zk.config import CONFIGS
    return _list(None, allowed=tuple(CONFIGS))(v)


STRING_CHECKS = {
    "free": lambda v: None if v.strip() and "\x00" not in v else "must not be empty",
    "date": _date, "address": _address, "rpc": _rpc, "scheduler": _scheduler, "episode": _episode,
    "window": _window,
    "hex64": lambda v: None if _HEX64.match(v) else "expected a sha256 (64 hex digits)",
    # ID:QUANTITY is parsed by calcm.trader (its errors name the instrument or the amount);
    # the matrix still feeds it the bad values of BAD_STRINGS["trade"].
    "trade": lambda v: None if v.strip() else "expected ID:QUANTITY, e.g. BTC-PERP:+2",
    "host": lambda v: None if _HOST.match(v) else "expected a host name or IP address",
    "word": lambda v: None if _WORD.match(v) else "expected a lower-case name",
    "ints": _list(int), "pos_ints": _list(int, lo=1), "prices": _list(float, lo=1e-18, noun="price"),
    "addresses": lambda v: next((f"feed {i}: {e}" for i, x in enumerate(v.split(","))
                                 if (e := _address(x.strip()))), None),
    "circuits": _list(None, allowed=("option", "reval", "step")), "configs": _configs,
}

#: String rules by parameter name (the name of a checker in STRING_CHECKS).
STRINGS: dict[str, str] = {
    "address": "address", "registry": "address", "owner": "address", "rpc": "rpc",
    "hint_deltas": "ints", "episode": "episode", "start": "date", "end": "date", "asof": "date",
    "cascade_start": "date", "cascade_end": "date", "sizes": "pos_ints", "workers": "pos_ints",
    "scheduler": "scheduler", "circuits": "circuits", "configs": "configs", "prices": "prices",
    "feeds": "addresses", "hardfork": "word", "account": "free", "trade": "trade",
    "deposit": "trade", "withdraw": "trade", "host": "host", "contributions": "free",
    "vkey_hash": "hex64", "addresses": "address", "episodes": "episode", "trades": "trade",
    "deposits": "trade", "withdrawals": "trade", "windows": "window",
}
STRINGS_BY_COMMAND: dict[str, dict[str, str]] = {
    "chain status": {"account": "address"},
}

#: Path roles by parameter name; overrides per command below.
PATHS: dict[str, str] = {
    "market": "in_any", "markets": "in_any", "prices": "in_any", "fit_market": "in_any", "test_market": "in_any",
    "volumes": "in", "book": "in", "portfolios": "in", "model_state": "in", "ptau": "in",
    "model_builds": "in", "model_file": "in", "deployment": "in", "keystore": "in", "builds": "in",
    "state_file": "in", "prices_file": "in", "model": "in", "model_dir": "in_dir",
    "build": "in_dir", "build_dir": "in_dir", "proof_dir": "in_dir", "verifiers": "in_dir",
    "report": "out", "out": "out", "plot": "out", "prices_out": "out", "out_file": "out",
    "out_dir": "out_dir", "verifiers_dir": "out_dir", "state": "out", "metrics": "out",
    "store": "in_opt", "model_states": "in", "report_path": "out", "plot_dir": "out_dir",
    "metrics_file": "out",
}
PATHS_BY_COMMAND: dict[str, dict[str, str]] = {
    "setup": {"build_dir": "out_dir"}, "model-setup": {"build_dir": "out_dir"},
    "audit": {"builds": "in_dir", "verifiers_dir": "in_dir"},
    "chain verifiers": {"out": "out_dir"}, "demo": {"out": "out_dir"},
    "model export": {"out": "out_dir"}, "backtest": {"out": "out_dir"},
    "risk apc": {"out": "out_dir"},
}


def rule(table: dict, by_command: dict, command: str, name: str):
    """The rule of parameter ``name`` of ``command`` (None: no rule)."""
    return by_command.get(command, {}).get(name, table.get(name))


def _number_error(v, r) -> str | None:
    lo, hi, lo_open, hi_open = r
    if isinstance(v, float) and not math.isfinite(v):
        return f"{v} is not a finite number"
    if lo is not None and (v < lo or (lo_open and v == lo)):
        return f"{v} is out of range: must be {'>' if lo_open else '>='} {lo}"
    if hi is not None and (v > hi or (hi_open and v == hi)):
        return f"{v} is out of range: must be {'<' if hi_open else '<='} {hi}"
    return None


def _writable_dir(d: Path) -> str | None:
    """None if ``d`` exists as a writable directory or can be created; else why not."""
    probe = d
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a directory"
    if str(probe.resolve()).startswith(("/proc", "/sys")) or not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    return None


def _path_error(p: Path, role: str) -> str | None:
    p = Path(p)
    if role in ("in", "in_dir", "in_any") and not p.exists():
        return {"in": f"{p}: file not found", "in_dir": f"{p}: not a directory (it does not exist)",
                "in_any": f"{p}: file or directory not found"}[role]
    if role == "in" and p.is_dir():
        return f"{p} is a directory, expected a file"
    if role == "in_opt" and p.exists() and p.is_dir():
        return f"{p} is a directory, expected a file"
    if role == "in_dir" and not p.is_dir():
        return f"{p} is not a directory"
    if role in ("in", "in_any", "in_opt") and p.exists() and not p.is_dir():
        if not p.is_file() or str(p.resolve()).startswith(("/proc/", "/sys/")):
            return f"{p} is not a regular file"
        if not os.access(p, os.R_OK):
            return f"{p} is not readable"
    if role == "out":
        if p.is_dir():
            return f"{p} is a directory, expected a file to write"
        return _writable_dir(p.parent)
    if role == "out_dir":
        if p.exists() and not p.is_dir():
            return f"{p} is a file, not a directory to write into"
        return _writable_dir(p)
    return None


def check_params(ctx: click.Context) -> None:
    """Check every parsed value of ``ctx``'s command against the tables (before any work)."""
    command = " ".join(ctx.command_path.split()[1:])
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or isinstance(param.type, (click.types.BoolParamType, click.Choice)):
            continue
        values = value if isinstance(value, (tuple, list)) else (value,)
        for v in values:
            err = None
            if isinstance(param.type, click.Path):
                role = rule(PATHS, PATHS_BY_COMMAND, command, param.name)
                err = _path_error(v, role) if role else None
                if err and role == "in_dir" and param.name in ("build", "build_dir", "builds"):
                    err += " (a build directory holds a manifest.json: make one with `calcm setup`)"
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                r = rule(NUMBERS, NUMBERS_BY_COMMAND, command, param.name)
                err = _number_error(v, r) if r else None
            elif isinstance(v, str):
                name = rule(STRINGS, STRINGS_BY_COMMAND, command, param.name)
                err = STRING_CHECKS[name](v) if name else None
            if err:
                raise click.BadParameter(err, ctx=ctx, param=param)
