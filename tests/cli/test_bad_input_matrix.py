"""Bad input everywhere: a matrix GENERATED from the click command tree.

For every command and every option or argument, cases are derived from the value's
class (number, string checker, path role, choice, flag; see ``calcm.cli.validate``),
plus content cases for the files commands read (book and market files: malformed,
truncated, missing or null fields, unknown instruments, duplicate accounts, NaN,
x1000 typo) and a dead RPC. Each case runs in-process through click's CliRunner and
must give: the documented non-zero exit code (2 bad input, 4 unavailable), exactly one
line on stderr starting ``calcm: error:`` that names the option or file, no exception
(no traceback), and no file left behind in the case's output directory.

``test_every_parameter_is_covered`` is the meta-test: every command and every
parameter of the tree has at least one case, so a new command or option cannot
escape the matrix (a new option whose class has no rule in ``validate`` fails it).
"""
from __future__ import annotations

import json
import signal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from calcm.cli import main, validate
from calcm.paths import DEFAULT_BOOK, DEFAULT_MARKET, REPO_ROOT

FIX = REPO_ROOT / "fixtures"
DEAD_RPC = "http://127.0.0.1:9"       # discard port: nothing listens
ADDR = "0x" + "11" * 20

#: A valid-looking invocation of every command (placeholders filled per case). Only the one
#: bad value of a case differs, so the case checks that value and nothing else.
BASE: dict[str, list[str]] = {
    "audit": ["--build", "{dir}", "--model-state", "{file}", "--address", ADDR],
    "backtest": [], "bench book": [], "bench fx": [], "bench gas": [], "bench keeper": [],
    "bench model": [], "bench prove": [], "bench risk": [],
    "cascade ablation": ["--episode", "fixture"], "cascade crowd": ["--episode", "fixture"],
    "chain deploy": [], "chain node": [], "chain post-root": ["--book", "{book}", "--deployment", "{dep}"],
    "chain status": ["--deployment", "{dep}"], "chain submit": ["{dir}", "--deployment", "{dep}"],
    "chain verifiers": [], "demo": [], "explain": ["--account", "whale"],
    "inclusion": ["--account", "whale", "--proof-dir", "{dir}"], 
    "keeper": ["--rpc", DEAD_RPC, "--model", "{model}", "--book", "{book}"],
    "liquidate": [], "margin": [], "model export": ["--out", "{out}/export"],
    "model-init": ["--out", "{out}/model.json"],
    "model-prove": ["--state", "{model}", "--prices", "{file}", "--circuit", "step", "--out", "{out}/p"],
    "model-setup": ["--state", "{file}"], "model-tables": [], "prove": [],
    "risk apc": ["--episodes-only"], "risk garch": [],
    "scenarios": ["--out", "{out}/s.json"], "serve": [], "setup": [], "simulate": [],
    "verify": ["{dir}"], "whatif": ["--account", "whale", "--trade", "BTC-PERP:+1"],
}

BAD_STRINGS = {
    "free": [""], "date": ["yesterday", "2023-02-30"], "address": ["notanaddress", "0x1234"],
    "rpc": ["foo", "127.0.0.1:8545"], "scheduler": ["localhost"], "episode": ["no-such-episode"],
    "hex64": ["abc"], "trade": ["BTC-PERP", "BTC-PERP:nan", "BTC-PERP:+inf"], "host": ["bad host!"],
    "word": ["Not A Fork"], "ints": ["1,x", ""], "pos_ints": ["0", "-3", "1,,2"],
    "prices": ["abc", "-1", "nan"], "addresses": ["notanaddress"], "circuits": ["nope"],
    "configs": ["nope"], "window": ["2025-10-01", "w:2025-10-31:2025-10-01"],
}


def _commands(group=main, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield " ".join(prefix + (name,)), cmd


COMMANDS = dict(_commands())


def _flag(param) -> str:
    return param.opts[0]


def _set(base: list[str], param, value: str) -> list[str]:
    """``base`` with ``param`` set to ``value`` (replacing a base value of it)."""
    args = list(base)
    if isinstance(param, click.Argument):
        # The base's first positional (arguments come first in BASE) is replaced.
        if args and not args[0].startswith("-"):
            return [value] + args[1:]
        return [value] + args
    for opt in param.opts:
        if opt in args:
            i = args.index(opt)
            return args[:i] + [opt, value] + args[i + 2:]
    return args + [_flag(param), value]


def _number_cases(cmd: str, p) -> list[str]:
    r = validate.rule(validate.NUMBERS, validate.NUMBERS_BY_COMMAND, cmd, p.name)
    if r is None:
        return []
    lo, hi, lo_open, hi_open = r
    out = ["abc"]
    if lo is not None:
        out.append(str(lo) if lo_open else str(lo - 1))
    if hi is not None:
        out.append(str(hi) if hi_open else str(hi * 10 + 1))
    if isinstance(p.type, click.types.FloatParamType):
        out += ["nan", "inf"]
    return out


def _path_cases(cmd: str, p) -> list[tuple[str, str]]:
    """(label, value) cases of a path parameter by its role."""
    role = validate.rule(validate.PATHS, validate.PATHS_BY_COMMAND, cmd, p.name)
    if role in ("in", "in_any", "in_dir"):
        cases = [("missing", "{out}/no-such-file")]
        cases.append(("a file", "{file}") if role == "in_dir" else ("not a regular file", "/dev/zero"))
        if role == "in":
            cases.append(("a directory", "{dir}"))
        return cases
    if role == "in_opt":
        return [("a directory", "{dir}")]
    if role == "out":
        return [("a directory", "{dir}"), ("under /proc", "/proc/calcm-x/out.json"),
                ("under a file", "{file}/x.json")]
    if role == "out_dir":
        return [("a file", "{file}"), ("under /proc", "/proc/calcm-x"), ("under a file", "{file}/d")]
    return []


def generic_cases():
    """(id, command, args, expected exit code) for every parameter of every command."""
    for cmd, command in COMMANDS.items():
        base = BASE.get(cmd, [])
        for p in command.params:
            if p.name in ("help",):
                continue
            values: list[tuple[str, str]] = []
            if isinstance(p.type, click.types.BoolParamType) and getattr(p, "is_flag", False):
                yield f"{cmd} {_flag(p)}=value", cmd, base + [f"{_flag(p)}=1"], 2
                continue
            if isinstance(p.type, click.Choice):
                values = [("unknown", "no-such-choice")]
            elif isinstance(p.type, click.Path):
                values = _path_cases(cmd, p)
            elif isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType)):
                values = [(v, v) for v in _number_cases(cmd, p)]
            elif isinstance(p.type, click.types.StringParamType):
                name = validate.rule(validate.STRINGS, validate.STRINGS_BY_COMMAND, cmd, p.name)
                values = [(repr(v), v) for v in BAD_STRINGS.get(name, [])]
            for label, v in values:
                yield f"{cmd} {p.human_readable_name} {label}", cmd, _set(base, p, v), 2


# --- content cases: what the files say ---------------------------------------------------
def _book() -> dict:
    return json.loads(DEFAULT_BOOK.read_text())


def _book_variants() -> dict[str, object]:
    b = _book()
    v: dict[str, object] = {"malformed": "{not json", "truncated": DEFAULT_BOOK.read_text()[:200],
                            "empty": "", "a list": [1, 2]}
    x = _book(); del x["accounts"][0]["positions"]; v["account without positions"] = x
    x = _book(); x["accounts"][0]["positons"] = x["accounts"][0].pop("positions")
    v["misspelt positions key"] = x
    x = _book(); x["accounts"][0]["positions"] = None; v["null positions"] = x
    x = _book(); x["accounts"][0]["id"] = None; v["null account id"] = x
    x = _book(); del x["instruments"]; v["no instruments"] = x
    x = _book(); x["accounts"].append(dict(x["accounts"][0])); v["duplicate account"] = x
    x = _book(); first = next(iter(x["accounts"][0]["positions"]))
    x["accounts"][0]["positions"] = {"NOPE-PERP": 1.0}; v["unknown instrument"] = x
    x = _book(); x["accounts"][0]["positions"] = {first: float("nan")}; v["NaN quantity"] = x
    x = _book(); x["accounts"][0]["positions"] = {first: 1e300}; v["huge quantity"] = x
    x = _book(); x["accounts"][0]["collateral"] = {"NOPE": 1.0}; v["unknown asset"] = x
    x = _book(); x["accounts"][0]["collateral"] = {"USDC": -5.0}; v["negative collateral"] = x
    x = _book(); x["accounts"][0]["extra_field"] = 1; v["unknown account field"] = x
    del b
    return v


def _market_variants() -> dict[str, str]:
    text = DEFAULT_MARKET.read_text()
    lines = text.splitlines()
    head, last = lines[0], lines[-1].split(",")
    typo = ",".join([last[0]] + [str(float(c) * 1000) if i == 1 else c for i, c in enumerate(last[1:], 1)])
    gap = lines[:40] + lines[45:]
    return {"5-day gap": "\n".join(gap) + "\n", "malformed": "this is,not\na,market", "truncated": "\n".join(lines[:1]),
            "header only": head + "\n", "last close x1000": "\n".join(lines[:-1] + [typo]) + "\n",
            "NaN close": "\n".join(lines[:-1] + [",".join([last[0]] + ["nan"] * (len(last) - 1))]) + "\n"}


MODEL_COMMANDS = ("margin", "liquidate", "scenarios", "explain", "whatif", "inclusion",
                  "model-init", "prove", "model export")


def content_cases():
    for cmd in MODEL_COMMANDS:
        command = COMMANDS[cmd]
        bp = next(p for p in command.params if p.name in ("book", "portfolios"))
        mp = next(p for p in command.params if p.name == "market")
        for label, doc in _book_variants().items():
            yield f"{cmd} book {label}", cmd, ("book", doc), bp
        for label, text in _market_variants().items():
            yield f"{cmd} market {label}", cmd, ("market", text), mp


def extra_cases():
    """Cases named in issue 15 that need data or a node: (id, command, args, code)."""
    return [
        ("margin --asof after the data", "margin", ["--asof", "2030-01-01"], 2),
        ("margin --asof not a market date", "margin", ["--asof", "1999-01-01"], 2),
        ("chain status dead rpc", "chain status", ["--deployment", "{dep}", "--rpc", DEAD_RPC], 4),
        ("chain post-root dead rpc", "chain post-root",
         ["--book", "{book}", "--deployment", "{dep}", "--rpc", DEAD_RPC], 4),
        ("chain submit dead rpc", "chain submit", ["{proofdir}", "--deployment", "{dep}", "--rpc", DEAD_RPC], 4),
        ("chain status bad account", "chain status", ["notanaddress", "--deployment", "{dep}"], 2),
        ("whatif unknown account", "whatif", ["--account", "nobody", "--trade", "BTC-PERP:+1"], 2),
        ("whatif unknown instrument", "whatif", ["--account", "whale", "--trade", "NOPE-PERP:+1"], 2),
        ("explain unknown account", "explain", ["--account", "nobody"], 2),
        ("verify not a proof dir", "verify", ["{dir}"], 2),
        ("prove 40 accounts for a 16-leaf tree", "prove", ["--portfolios", "{book40}", "--depth", "4"], 2),
        ("prove --batch not a power of two", "prove", ["--batch", "3"], 2),
        ("simulate a real episode on the synthetic fixture", "simulate", ["--episode", "2022-11"], 2),
        ("backtest a real episode on the synthetic fixture", "backtest", ["--episode", "2022-11"], 2),
        ("bench risk --accounts 0", "bench risk", ["--accounts", "0"], 2),
        ("audit: not a build directory", "audit", ["--build", "{dir}"], 2),
    ]


# The root group's own option: calcm --config FILE (calcm.toml).
CONFIG_CASES = {
    "missing": None, "a directory": "{dir}", "malformed TOML": "market = [",
    "unknown top-level key": 'markte = "x.csv"', "unknown command section": "[nope]\nx = 1",
    "unknown option": "[margin]\nes_levl = 0.9", "out-of-range value": "[margin]\nes_level = 1.5",
    "wrong type": '[margin]\nes_level = "high"', "missing file value": 'book = "no-such.json"',
    "[shape] unknown key": "[shape]\nwidth = 3",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix")
    (root / "dir").mkdir()
    (root / "proofdir").mkdir()
    for name in ("proof.json", "public.json"):
        (root / "proofdir" / name).write_text("{}")
    (root / "file").write_text("not what any command wants\n")
    dep = {"chain_id": 31337, "node": "anvil", "rpc": DEAD_RPC, "embedded": False, "registry": ADDR,
           "margin_verifier": ADDR, "model_verifiers": None, "price_feeds": [ADDR], "group_size": 4,
           "n_assets": 1, "n_parts": 0, "max_age": 100, "max_price_age": 3600, "option_max_age": 3600,
           "roles": {}, "deploy_block": 1, "abi_sha256": {}, "builds": {}}
    (root / "dep.json").write_text(json.dumps(dep))
    r = CliRunner().invoke(main, ["model-init", "--out", str(root / "model.json")])   # one real model file
    assert r.exit_code == 0, r.output
    b = _book()
    acc = b["accounts"]
    b["accounts"] = [dict(acc[i % len(acc)], id=f"acct-{i}") for i in range(40)]
    (root / "book40.json").write_text(json.dumps(b))
    return root


def _fill(args: list[str], world: Path, out: Path) -> list[str]:
    subs = {"{dir}": str(world / "dir"), "{proofdir}": str(world / "proofdir"), "{file}": str(world / "file"), "{dep}": str(world / "dep.json"),
            "{book}": str(DEFAULT_BOOK), "{book40}": str(world / "book40.json"),
            "{model}": str(world / "model.json"), "{out}": str(out)}
    res = []
    for a in args:
        for k, v in subs.items():
            a = a.replace(k, v)
        res.append(a)
    return res


def _alarm(*_):
    raise TimeoutError("the case did not fail fast (validate before work)")


def run_case(args: list[str], out: Path):
    """Run ``calcm args`` in-process; returns the click Result (8 s budget per case)."""
    before = set(out.rglob("*")) if out.exists() else set()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(8)
    try:
        r = CliRunner().invoke(main, args, catch_exceptions=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    left = (set(out.rglob("*")) if out.exists() else set()) - before
    return r, left


def check(r, left, code: int, names: tuple[str, ...] = ()):
    exc = r.exception if r.exception is not None and not isinstance(r.exception, SystemExit) else None
    assert exc is None, f"uncaught {type(exc).__name__}: {exc}"
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == code, f"exit {r.exit_code} (want {code}); stderr={r.stderr!r} stdout={r.stdout[:200]!r}"
    assert len(lines) == 1 and lines[0].startswith("calcm: error:"), f"stderr not one line: {r.stderr!r}"
    assert "Traceback" not in r.stderr + r.stdout
    if names:
        assert any(n in lines[0] for n in names), f"error names none of {names}: {lines[0]}"
    assert not left, f"partial output left behind: {sorted(map(str, left))}"


GENERIC = list(generic_cases())


@pytest.mark.parametrize("cmd,args,code", [c[1:] for c in GENERIC], ids=[c[0] for c in GENERIC])
def test_generic_case(cmd, args, code, world, tmp_path):
    out = tmp_path / "out"
    r, left = run_case(cmd.split() + _fill(args, world, out), out)
    check(r, left, code)


CONTENT = list(content_cases())


@pytest.mark.parametrize("cmd,variant,param", [c[1:] for c in CONTENT], ids=[c[0] for c in CONTENT])
def test_content_case(cmd, variant, param, world, tmp_path):
    kind, doc = variant
    out = tmp_path / "out"
    f = tmp_path / ("in.json" if kind == "book" else "in.csv")
    f.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    args = _set(_fill(BASE[cmd], world, out), param, str(f))
    if cmd == "prove":
        args += ["--out", str(out / "proofs")]
    r, left = run_case(cmd.split() + args, out)
    check(r, left, 2, names=(str(f),))


#: JSON input files other than books, by parameter name: each gets the generic JSON variants.
JSON_FILES = ("state_file", "model_file", "prices_file", "model_builds", "deployment", "keystore",
              "builds", "model_states")
JSON_VARIANTS = {"malformed": "{not json", "truncated": '{"kind": ', "empty": "", "null": "null",
                 "a list": "[]", "empty object": "{}", "null fields": '{"kind": null, "params": null}'}


#: Read only after another input is validated, so a case here would test that input instead:
#: audit reads --model-state after the builds (its path cases above still apply).
JSON_LATE = {("audit", "model_states")}


def json_file_cases():
    for cmd, command in COMMANDS.items():
        for p in command.params:
            if p.name in JSON_FILES and (cmd, p.name) not in JSON_LATE:
                for label in JSON_VARIANTS:
                    yield f"{cmd} {p.human_readable_name} {label}", cmd, p, label


JSONS = list(json_file_cases())


@pytest.mark.parametrize("cmd,param,label", [c[1:] for c in JSONS], ids=[c[0] for c in JSONS])
def test_json_file_case(cmd, param, label, world, tmp_path):
    out = tmp_path / "out"
    f = tmp_path / "in.json"
    f.write_text(JSON_VARIANTS[label])
    r, left = run_case(cmd.split() + _set(_fill(BASE[cmd], world, out), param, str(f)), out)
    check(r, left, 2, names=(str(f), "in.json"))


EXTRA = extra_cases()


@pytest.mark.parametrize("cmd,args,code", [c[1:] for c in EXTRA], ids=[c[0] for c in EXTRA])
def test_extra_case(cmd, args, code, world, tmp_path):
    out = tmp_path / "out"
    r, left = run_case(cmd.split() + _fill(args, world, out), out)
    check(r, left, code)


@pytest.mark.parametrize("label", list(CONFIG_CASES))
def test_config_case(label, world, tmp_path):
    text = CONFIG_CASES[label]
    cfg = tmp_path / "calcm.toml"
    if text == "{dir}":
        cfg = world / "dir"
    elif text is not None:
        cfg.write_text(text + "\n")
    out = tmp_path / "out"
    r, left = run_case(["--config", str(cfg), "margin"], out)
    check(r, left, 2)


def test_every_parameter_is_covered():
    """Meta-test: every command has a base invocation and every parameter at least one case."""
    missing_base = sorted(set(COMMANDS) - set(BASE))
    assert not missing_base, f"commands without a BASE invocation in the matrix: {missing_base}"
    covered = {(c[1], a) for c in GENERIC for a in c[2]}
    uncovered = []
    for cmd, command in COMMANDS.items():
        for p in command.params:
            if p.name == "help":
                continue
            ids = [c for c in GENERIC if c[1] == cmd and c[0].startswith(f"{cmd} {p.human_readable_name} ")
                   or c[0] == f"{cmd} {_flag(p) if p.opts else ''}=value"]
            if not ids:
                uncovered.append(f"{cmd} {p.human_readable_name}")
    del covered
    root = [p.name for p in main.params if p.name not in ("help", "version")]
    assert root == ["config_file"] and CONFIG_CASES, f"root options without cases: {root}"
    assert not uncovered, ("parameters with no bad-input case (add a rule in calcm.cli.validate): "
                           f"{uncovered}")
