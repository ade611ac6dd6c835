"""Book view: every account by published tier, margin utilisation, totals against the baselines.

``book_data(report) -> dict`` (``/api/book``): :func:`calcm.risk.report.report_json` (what
``calcm margin --json`` prints) plus, per account, ``utilisation`` = published MM / equity
and ``im_utilisation`` = IM / equity (None when equity <= 0), and ``by_tier``: the account
ids in each published tier. The tier shown is the published (fixed-point) one, the tier
the margin circuit proves; the float model's tier is beside it.
"""
from __future__ import annotations

from ..risk.report import report_json
from .layout import TIERS, esc, page, table, tier_badge, usd


def _util(x: float, equity: float):
    return x / equity if equity > 0 else None


def book_data(report) -> dict:
    doc = report_json(report)
    by_tier = {t: [] for t in TIERS}
    for a in doc["accounts"]:
        fx = a["fixed_point"]
        a["utilisation"] = _util(fx["mm"], fx["equity"])
        a["im_utilisation"] = _util(fx["im"], fx["equity"])
        by_tier[fx["tier"]].append(a["id"])
    doc["by_tier"] = by_tier
    tot = doc["totals"]
    tot["published_mm"] = sum(a["fixed_point"]["mm"] for a in doc["accounts"])
    tot["published_im"] = sum(a["fixed_point"]["im"] for a in doc["accounts"])
    tot["equity"] = sum(a["fixed_point"]["equity"] for a in doc["accounts"])
    return doc


def _pct(x) -> str:
    return "-" if x is None else f"{x:.1%}"


def book_page(doc: dict) -> str:
    tot = doc["totals"]
    cards = "".join(
        f'<div class="card"><div class="k">{esc(label)}</div><div class="v" id="total-{key}">{usd(tot[key])}</div></div>'
        for key, label in (("published_mm", "portfolio MM (published)"), ("siloed_mm", "siloed MM"),
                           ("static_mm", "static MM"), ("equity", "equity")))
    vs_static = tot["published_mm"] / tot["static_mm"] if tot["static_mm"] > 0 else None
    vs_siloed = tot["published_mm"] / tot["siloed_mm"] if tot["siloed_mm"] > 0 else None
    tiers = " ".join(f'{tier_badge(t)} <b id="count-{t}">{len(ids)}</b>' for t, ids in doc["by_tier"].items())
    rows = []
    order = {t: i for i, t in enumerate(TIERS)}
    for a in sorted(doc["accounts"], key=lambda a: (-order[a["fixed_point"]["tier"]], a["id"])):
        fx = a["fixed_point"]
        rows.append([(f'<a href="/account/{esc(a["id"])}">{esc(a["id"])}</a>', 'class="account-id"'),
                     (tier_badge(fx["tier"]), f'class="tier-cell" data-tier="{esc(fx["tier"])}"'),
                     usd(fx["mm"]), usd(fx["im"]), usd(fx["equity"]),
                     f'<div class="bar"><span style="width:{min(100, 100 * (a["utilisation"] or 0)):.0f}%"></span></div>'
                     f'{_pct(a["utilisation"])}',
                     usd(a["siloed"]["mm"]), usd(a["static"]["mm"]), esc(a["tier"])])
    body = f"""
<p class="sub">as of {esc(doc["asof"])} · {len(doc["accounts"])} accounts · model {esc(doc["model"]["params_hash"][:12])}…
· published numbers are what the margin circuit proves</p>
<section class="cards">{cards}</section>
<p>tiers: {tiers} · portfolio MM is {_pct(vs_siloed)} of the siloed and {_pct(vs_static)} of the static
margin (float MM {usd(tot["mm"])})</p>
<section class="charts"><div class="chart"><canvas id="chart-baselines"></canvas></div>
<div class="chart"><canvas id="chart-utilisation"></canvas></div></section>
<h2>Accounts by tier</h2>
{table(["account", "tier (published)", "MM", "IM", "equity", "MM / equity", "siloed MM", "static MM", "float tier"],
       rows, "accounts", 'id="accounts"')}"""
    return page("book", "Book", body, doc)
