"""CLI of the cascade reports: ``calcm cascade ablation`` and ``calcm cascade crowd``.

Both replay the synthetic crowd (:mod:`calcm.liquidation.crowd`) on the real crash
episodes of ``../shared/data/prices`` (``--prices``) with the vectorised replay
(:mod:`calcm.liquidation.crowd_replay`). Reports, not tests: they print JSON
(``--json``) or a table, and ``--out DIR`` also writes ``ablation.json`` / ``crowd.json``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ..errors import InputError
from ..paths import SHARED_DATA
from .output import emit_json

DEFAULT_PRICES = SHARED_DATA / "prices" / "daily_close.csv"


def _market(prices: Path):
    from ..market import load_market_ohlcv

    if not Path(prices).exists():
        raise InputError(str(prices), "-", "-", "price history not found (pass --prices)")
    return load_market_ohlcv(prices)


def _windows(prices: Path, episodes, windows):
    """``(market, episodes)``: the ``--episode`` names then the ``--window`` texts (checked before
    the file is read), each covered by the data; default: the bundled ones it covers."""
    from ..liquidation.episodes import from_args, select

    chosen = from_args(episodes, windows)
    md = _market(prices)
    return md, select(md, chosen)


def _emit(doc: dict, as_json: bool, out: Path | None, fname: str, lines) -> None:
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / fname).write_text(json.dumps(doc, indent=2, default=float))
    if as_json:
        emit_json(doc)
    else:
        for line in lines(doc):
            click.echo(line)


def _ablation_lines(doc: dict):
    yield (f"{'episode':8} {'regime':24} {'bad debt':>12} {'liquidated':>14} {'liqs':>6} "
           f"{'cascade rds':>11} {'swing1d':>8} {'swing5d':>8}")
    for e in doc["episodes"]:
        for r in e["rows"]:
            yield (f"{e['episode']:8} {r['regime']:24} {r['bad_debt']:12,.0f} {r['notional']:14,.0f} "
                   f"{r['liquidations']:6d} {r['cascade_rounds']:11d} {r['swing_1d']:8.2f} {r['swing_5d']:8.2f}")
        for s, t in e["target"].items():
            yield (f"{e['episode']:8} target ({s}): calcm first: {t['calcm_first']}; "
                   f"ranking {', '.join(t['ranking'][:4])}, ...")
    yield f"target holds on every episode: {doc['target_holds']}; runtime {doc['seconds']:.1f} s"


def _crowd_lines(doc: dict):
    yield (f"{'episode':8} {'regime':16} {'rounds':>6} {'cascade rds':>11} {'max':>4} "
           f"{'liquidated':>14} {'bad debt':>12}")
    for e in doc["episodes"]:
        for r in e["rows"]:
            yield (f"{e['episode']:8} {r['regime']:16} {r['rounds']:6d} {r['cascade_rounds']:11d} "
                   f"{r['max_rounds']:4d} {r['notional']:14,.0f} {r['bad_debt']:12,.0f}")
    yield f"{doc['accounts']} accounts; runtime {doc['seconds']:.1f} s"


def register(main, bench, chain) -> None:
    @main.group()
    def cascade():
        """Cascade reports: margin-model x liquidation-policy ablation and the crowd replay."""

    common = [
        click.option("--prices", type=click.Path(path_type=Path), default=DEFAULT_PRICES, show_default=True),
        click.option("--episode", "episodes", multiple=True,
                     help="repeatable; default: the four real episodes the data covers"),
        click.option("--window", "windows", multiple=True, metavar="NAME:START:END",
                     help="repeatable: a user window (YYYY-MM-DD, inclusive), besides --episode"),
        click.option("--accounts", type=click.IntRange(1), default=10_000, show_default=True),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--days", type=click.IntRange(1), default=None, help="replay only the first N days"),
        click.option("--json", "as_json", is_flag=True),
        click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
                     help="also write the JSON into this directory"),
    ]

    def with_common(f):
        for opt in reversed(common):
            f = opt(f)
        return f

    @cascade.command("ablation")
    @with_common
    @click.option("--no-matched", is_flag=True, help="skip the matched-mean-requirement variants")
    @click.option("--admissible", type=click.Choice(("own", "all")), default="own", show_default=True,
                  help="own: each regime's accounts post what it requires; all: admissible under every regime")
    def ablation_cmd(prices, episodes, windows, accounts, seed, days, as_json, out_dir, no_matched, admissible):
        """Margin model (calcm, siloed, static, SPAN-style, Deribit-style) x liquidation policy."""
        from ..liquidation.ablation import run_ablation

        from .progress import enabled_for, step
        t0 = time.perf_counter()
        with step(f"replaying the ablation ({accounts} accounts)", enabled=enabled_for(as_json)):
            doc = run_ablation(*_windows(prices, episodes, windows), accounts, seed, days,
                               matched=not no_matched, admissible=admissible)
        doc["seconds"] = time.perf_counter() - t0
        _emit(doc, as_json, out_dir, "ablation.json", _ablation_lines)

    @cascade.command("crowd")
    @with_common
    def crowd_cmd(prices, episodes, windows, accounts, seed, days, as_json, out_dir):
        """Replay the crowd under every margin model x policy: rounds, liquidated notional, bad debt."""
        from ..liquidation.ablation import run_ablation

        from .progress import enabled_for, step
        t0 = time.perf_counter()
        with step(f"replaying the crowd ({accounts} accounts)", enabled=enabled_for(as_json)):
            doc = run_ablation(*_windows(prices, episodes, windows), accounts, seed, days, matched=False)
        keep = ("regime", "rounds", "cascade_rounds", "max_rounds", "checkpoints_cascading", "liquidations",
                "accounts", "full", "notional", "cascade_notional", "bad_debt", "from_fund", "uncovered",
                "conservation_error", "seconds")
        doc = {"accounts": accounts, "seed": seed,
               "episodes": [{"episode": e["episode"], "start": e["start"], "end": e["end"], "crowd": e["crowd"],
                             "rows": [{k: r[k] for k in keep} for r in e["rows"]], "seconds": e["seconds"]}
                            for e in doc["episodes"]],
               "seconds": time.perf_counter() - t0}
        _emit(doc, as_json, out_dir, "crowd.json", _crowd_lines)
