"""Model view: volatility forecasts, the correlation heatmap, the scenario set and the VaR backtest.

``model_data(report, market) -> dict`` (computed once per server, :mod:`.warm`):

- ``vol``: per underlying ``price`` (USD), ``sigma_1d`` (one-day forecast vol, fraction),
  ``annualised`` (``sigma_1d * sqrt(365)``), ``mpor_vol``, GARCH parameters, and ``history``:
  the conditional vol ``sqrt(sigma2)`` of the last :data:`HISTORY` days (dates of the return
  they apply to; the last point is the forecast for the day after ``asof``);
- ``correlation`` / ``stressed``: today's EWMA correlation and the stress blend (U x U over
  ``correlation_assets``);
- ``scenarios``: count per kind, every scenario's MPOR returns (S x U, underlyings order) and
  its kind, and the non-FHS (stress) scenarios listed by name.

``backtest_data(report) -> dict``: :meth:`BacktestReport.to_json` plus ``table`` (one row per
book and level: exceptions, expected, Kupiec and Christoffersen p, Acerbi-Szekely Z2 and p) and
``series``: per book the daily ``dates`` and realised ``loss``, and per level (``"0.99"``...)
the one-day ``var``, ``es`` and ``exceptions`` (USD per USD of weight).
"""
from __future__ import annotations

import numpy as np

from .layout import esc, num, page, table

HISTORY = 250


def model_data(report, market) -> dict:
    risk = report.risk
    dates = [str(d) for d in market.dates]
    vol = []
    for k, u in enumerate(risk.underlyings):
        fit = risk.fits[u]
        s = np.sqrt(fit.sigma2[-HISTORY:])
        hist_dates = dates[-(len(s) - 1):] + ["next"]
        vol.append({"underlying": u, "price": float(risk.price[k]), "sigma_1d": float(risk.sigma[k]),
                    "annualised": float(risk.sigma[k] * np.sqrt(365)), "mpor_vol": float(risk.mpor_vol[k]),
                    "model": fit.model, "params": {kk: float(v) for kk, v in vars(fit.params).items()
                                                   if isinstance(v, (int, float, np.floating))},
                    "history": {"dates": hist_dates, "sigma": [float(x) for x in s]}})
    sc = risk.scenarios
    kinds: dict[str, int] = {}
    for kd in sc.kinds:
        kinds[kd] = kinds.get(kd, 0) + 1
    stress = [{"name": n, "kind": kd, "vol_shock": float(v),   # the largest over the underlyings
               "returns": {u: float(risk.returns[s, k]) for k, u in enumerate(risk.underlyings)}}
              for s, (n, kd, v) in enumerate(zip(sc.names, sc.kinds, sc.vol_shock.max(axis=1))) if kd != "fhs"]
    return {"asof": str(risk.asof), "vol": vol,
            "correlation_assets": list(sc.assets),
            "correlation": np.round(risk.correlation.today, 4).tolist(),
            "stressed": np.round(risk.stressed_correlation, 4).tolist(),
            "scenarios": {"n": sc.n_scenarios, "kinds": kinds, "underlyings": list(risk.underlyings),
                          "kind": list(sc.kinds), "returns": np.round(risk.returns, 6).tolist(),
                          "stress": stress},
            "k_tail": int(risk.margin_model.k_tail), "mpor_days": int(risk.params.mpor_days)}


def _levels(b) -> list:
    """``[(level, LevelBacktest-like)]`` of one book (multi-level reports; a one-level report as itself)."""
    if hasattr(b, "levels"):
        return [(float(lv.level), lv) for lv in b.levels]
    return [(float(getattr(b, "level", 0.99)), b)]


def backtest_data(bt) -> dict:
    doc = bt.to_json()
    series, rows = [], []
    for b in bt.books:
        lv_series = {}
        for level, lv in _levels(b):
            vt, et = lv.var_test, lv.es_test
            lv_series[f"{level:g}"] = {"var": [float(x) for x in lv.var], "es": [float(x) for x in lv.es],
                                       "exceptions": [bool(x) for x in lv.exceptions]}
            rows.append({"book": b.book.name, "level": level, "days": int(vt.n), "exceptions": int(vt.exceptions),
                         "expected": float(vt.expected), "kupiec_p": float(vt.kupiec_p),
                         "christoffersen_p": float(vt.christoffersen_p), "es_z2": float(et.z2),
                         "es_p": float(et.p_value)})
        series.append({"book": b.book.name, "dates": [str(d) for d in b.dates],
                       "loss": [float(x) for x in b.loss], "levels": lv_series})
    doc["series"], doc["table"] = series, rows
    return doc


def _heat(m, assets, tid: str) -> str:
    def cell(x: float) -> tuple[str, str]:
        a = min(1.0, abs(x))
        col = f"rgba(200,60,50,{a:.2f})" if x >= 0 else f"rgba(50,90,200,{a:.2f})"
        return f"{x:.2f}", f'style="background:{col}" data-value="{x}"'
    rows = [[esc(a)] + [cell(x) for x in row] for a, row in zip(assets, m)]
    return table([""] + list(assets), rows, "heat", f'id="{tid}"')


def model_page(doc: dict, bt: dict | None, bt_error: str | None = None) -> str:
    vol = table(["underlying", "price", "1-day vol", "annualised", "MPOR vol", "model"],
                [[esc(v["underlying"]), num(v["price"], ",.6g"), f'{v["sigma_1d"]:.2%}', f'{v["annualised"]:.0%}',
                  f'{v["mpor_vol"]:.2%}', esc(v["model"])] for v in doc["vol"]], "vol", 'id="vol"')
    sc = doc["scenarios"]
    stress = table(["scenario", "kind", "vol shock"] + sc["underlyings"],
                   [[esc(s["name"]), esc(s["kind"]), f'{s["vol_shock"]:+.0%}'] +
                    [f'{s["returns"][u]:+.1%}' for u in sc["underlyings"]] for s in sc["stress"]],
                   "stress", 'id="stress"')
    kinds = ", ".join(f"{esc(k)} {n}" for k, n in sc["kinds"].items())
    if bt is not None:
        bts = table(["book", "level", "days", "exceptions", "expected", "Kupiec p", "Christoffersen p", "AS Z2", "Z2 p"],
                    [[esc(b["book"]), f'{b["level"]:.1%}', str(b["days"]), str(b["exceptions"]), f'{b["expected"]:.1f}',
                      f'{b["kupiec_p"]:.3f}', f'{b["christoffersen_p"]:.3f}', f'{b["es_z2"]:.2f}', f'{b["es_p"]:.3f}']
                     for b in bt["table"]], "backtest", 'id="backtest"')
        opts = "".join(f'<option value="{i}">{esc(s["book"])}</option>' for i, s in enumerate(bt["series"]))
        bt_html = f"""<p class="sub">{esc(bt["start"])} .. {esc(bt["end"])}: one-day VaR/ES of the causal model (statistical
layer, FHS scenarios) against the realised loss per USD of weight</p>{bts}
<label>book <select id="backtest-book">{opts}</select></label>
<div class="chart wide"><canvas id="chart-backtest"></canvas></div>"""
    else:
        bt_html = f'<p class="error">backtest unavailable: {esc(bt_error or "-")}</p>'
    body = f"""
<p class="sub">as of {esc(doc["asof"])} · {sc["n"]} scenarios ({kinds}) · ES over the k={doc["k_tail"]} worst ·
MPOR {doc["mpor_days"]} days</p>
<h2>Volatility forecasts</h2>{vol}
<div class="chart wide"><canvas id="chart-vol"></canvas></div>
<h2>Correlation</h2>
<div class="grid2"><div><h3>EWMA today</h3>{_heat(doc["correlation"], doc["correlation_assets"], "corr")}</div>
<div><h3>stress blend</h3>{_heat(doc["stressed"], doc["correlation_assets"], "corr-stressed")}</div></div>
<h2>Scenario set</h2>
<div class="chart"><canvas id="chart-scenarios"></canvas></div>
<h3>Stress scenarios</h3>{stress}
<h2>Backtest</h2>{bt_html}"""
    return page("model", "Model", body, {**doc, "backtest": bt})
