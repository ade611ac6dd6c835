"""CLI of the APC report: ``calcm risk apc`` (docs/MODEL.md §4, the variance floor).

Causal daily requirements (ES 99% + add-on, MPOR 2, GARCH refit monthly) of four fixed
unit-gross books without APC, with the floor and with the stressed weight
(:mod:`calcm.liquidation.apc`), on the
real history ``../shared/data/prices`` (or ``--prices``): over the whole history from the
first date BTC and ETH can be modelled to the data's last date (2023-12-31 for the bundled
history; ``--full``; ~10 min on 2 cores) and over the episodes 2020-03, 2021-05, 2022-06, 2022-11
that the data covers, or the ``--episode`` / ``--window NAME:START:END`` given. Without the data
and without ``--prices`` it prints one line and exits 0.
"""
from __future__ import annotations

from pathlib import Path

import click

from .. import atomic
from ..errors import InputError
from ..paths import SHARED_DATA
from .garch_cmd import risk_group
from .output import console, emit_json, table

DEFAULT_PRICES = SHARED_DATA / "prices" / "daily_close.csv"


def apc_report(prices: Path, full: bool, episodes=None, frontier: bool = False, windows=()) -> dict:
    """The JSON document: one :meth:`~calcm.liquidation.apc.ApcWindow.summary` per window, and with
    ``frontier`` (implies ``full``) :func:`~calcm.liquidation.apc_frontier.frontier` over them.

    ``episodes`` (bundled names) and ``windows`` (``NAME:START:END`` text) pick the episode
    windows (:func:`calcm.liquidation.episodes.select`; default: the bundled ones the data
    covers, at least one unless ``full``). The full window ends at the data's last date.
    """
    from ..liquidation.apc import first_eligible, run_window
    from ..liquidation.apc_frontier import frontier as apc_frontier
    from ..liquidation.apc_frontier import variance_grid
    from ..liquidation.episodes import covered, from_args, select
    from ..market import load_market
    from ..risk.model import ModelParams

    chosen = from_args(episodes or (), windows)
    md = load_market(prices)
    wins = []
    if full or frontier:
        start = max(first_eligible(md, ModelParams()), md.dates[0])
        wins.append(("full", str(start), str(md.dates[-1])))
    eps = covered(md) if full and not (chosen or frontier) else select(md, chosen)   # --full: none is fine
    wins += [(e.name, e.start, min(e.end, str(md.dates[-1]))) for e in eps]      # reported end: data's
    grid = variance_grid() if frontier else None
    built = [run_window(md, n, s, e, grid=grid) for n, s, e in wins]
    doc = {"market": str(prices), "es_level": ModelParams().es_level, "mpor_days": ModelParams().mpor_days,
           "apc_floor_weight": ModelParams().apc_floor_weight,
           "apc_stress_weight": ModelParams().apc_stress_weight,
           "windows": [w.summary() for w in built]}
    if frontier:
        doc["frontier"] = apc_frontier(built[0], built[1:])
    return doc


def _print(doc: dict) -> None:
    for w in doc["windows"]:
        rows = []
        for b, r in w["books"].items():
            rows.append([b] + [" / ".join(f"{r[f'swing_{k}'][n]:.2f}" for k in ("none", "floor", "stress"))
                               for n in ("1", "5", "30")]
                        + [f"{r['mean_req_none']:.4f}", f"{r['mean_ratio_floor_to_none']:.3f}",
                           f"{r['mean_ratio_stress_to_none']:.3f}"])
        table(f"APC {w['window']} ({w['start']}..{w['end']}, {w['days']} days; universe {','.join(w['assets'])})",
              ["book", "swing 1d none/floor/stress", "swing 5d", "swing 30d", "mean req none",
               "mean floor/none", "mean stress/none"], rows)
    f = doc.get("frontier")
    if f:
        t = f["targets"]
        rows = [[r["setting"], "yes" if r["emir"] else "no"]
                + [f"{r['books'][b]['cost']:.3f} / {r['books'][b]['swing']:.2f}" for b in f["books"]]
                + ["yes" if r["meets"] else "no"] for r in f["settings"]]
        table(f"APC frontier: mean cost ({f['full_window']}) / worst {t['swing_days']}-day rise "
              f"({', '.join(f['episodes'])}); targets {t['cost']} / {t['swing']}",
              ["setting", "EMIR"] + list(f["books"]) + ["meets both"], rows)
        console.print(f"settings meeting both targets on every book: {', '.join(f['feasible']) or 'none'}")


def register(main, bench, chain) -> None:
    @risk_group(main).command("apc")
    @click.option("--prices", type=click.Path(path_type=Path), default=None,
                  help=f"real price history (default: {DEFAULT_PRICES} when it exists)")
    @click.option("--full/--episodes-only", default=False, show_default=True,
                  help="also the whole history to its last date (slow: one causal model build a day)")
    @click.option("--episode", "episodes", multiple=True,
                  help="repeatable; default: the four real episodes the data covers")
    @click.option("--window", "windows", multiple=True, metavar="NAME:START:END",
                  help="repeatable: a user window (YYYY-MM-DD, inclusive), besides --episode")
    @click.option("--frontier", is_flag=True,
                  help="also every APC tool over a grid of settings: cost against 5-day swing (implies --full)")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="write apc.json into this directory")
    def apc_cmd(prices, full, episodes, windows, frontier, as_json, out):
        """Margin swings (1/5/30-day) and cost of the APC floor and stressed weight vs no APC."""
        if prices is None:
            if not DEFAULT_PRICES.exists():
                console.print(f"skipped: {DEFAULT_PRICES} not found (pass --prices)")
                return
            prices = DEFAULT_PRICES
        elif not Path(prices).exists():
            raise InputError(str(prices), "-", "-", "price history not found")
        doc = apc_report(Path(prices), full, episodes, frontier=frontier, windows=windows)
        if out is not None:
            import json
            Path(out).mkdir(parents=True, exist_ok=True)
            atomic.write_text(Path(out) / "apc.json", json.dumps(doc, indent=1) + "\n")
        if as_json:
            emit_json(doc)
        else:
            _print(doc)
