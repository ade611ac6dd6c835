"""Cascade view: one price window replayed under each margin regime (static, siloed, calcm).

``cascade_data(book, results, window) -> dict`` from
:func:`calcm.liquidation.replay.run_replay` (same book, same causal model, one result per
regime; computed once per server by :mod:`.warm`):

- ``regimes[r].summary``: :attr:`SimulationResult.summary` (USD);
- ``regimes[r].series``: per day ``dates``, ``liquidations`` (count), ``liquidated_notional``,
  ``bad_debt``, ``fund`` (insurance fund at the close), ``fund_low`` (intraday low),
  ``margin_held`` (USD);
- ``prices``: the close of each underlying per day (the same for every regime).
"""
from __future__ import annotations

from .layout import esc, page, table, usd


def cascade_data(book, results: dict, window: tuple[str, str]) -> dict:
    regimes, prices = {}, {}
    for name, res in results.items():
        d = res.days
        regimes[name] = {
            "summary": res.summary,
            "series": {"dates": [x.date for x in d], "liquidations": [x.liquidations for x in d],
                       "liquidated_notional": [x.liquidated_notional for x in d],
                       "bad_debt": [x.bad_debt for x in d], "fund": [x.fund for x in d],
                       "fund_low": [x.fund_low for x in d], "margin_held": [x.margin_held for x in d]},
            "events": len(res.events)}
        if not prices and d:
            prices = {"dates": [x.date for x in d],
                      "close": {u: [x.prices.get(u) for x in d] for u in d[0].prices}}
    return {"start": window[0], "end": window[1], "book": getattr(book, "source", "synthetic"),
            "accounts": len(book.accounts), "regimes": regimes, "prices": prices}


def cascade_page(doc: dict) -> str:
    cols = ("regime", "liquidations", "accounts liquidated", "liquidated notional", "bad debt",
            "fund low", "fund final", "ADL events", "avg margin held")
    rows = []
    for r, x in doc["regimes"].items():
        s = x["summary"]
        rows.append([(esc(r), 'class="regime"'), str(s["liquidations"]), str(s["accounts_liquidated"]),
                     usd(s["liquidated_notional"]), usd(s["bad_debt"]), usd(s["insurance_fund_low"]),
                     usd(s["insurance_fund_final"]), str(s["adl_events"]), usd(s["avg_margin_held"])])
    body = f"""
<p class="sub">{esc(doc["start"])} .. {esc(doc["end"])} · {doc["accounts"]} accounts ({esc(doc["book"])}) ·
the same book and causal model under each regime</p>
{table(list(cols), rows, "regimes", 'id="regimes"')}
<section class="charts"><div class="chart"><canvas id="chart-prices"></canvas></div>
<div class="chart"><canvas id="chart-liquidations"></canvas></div>
<div class="chart"><canvas id="chart-fund"></canvas></div>
<div class="chart"><canvas id="chart-notional"></canvas></div></section>"""
    return page("cascade", "Cascade replay", body, doc)
