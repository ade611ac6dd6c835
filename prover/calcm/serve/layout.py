"""The HTML every page shares, and the JSON encoding of every ``/api/...`` document.

``page(view, title, body, data)`` returns a whole HTML document: the nav, ``body``
(already escaped HTML), the view's data embedded as ``<script type="application/json"
id="calcm-data">`` (what ``/api/<view>`` returns, so the charts need no second request),
chart.js and ``/static/dashboard.js`` (which draws the charts of ``<body data-view=...>``).
No external URL is referenced: the machine may have no internet.
"""
from __future__ import annotations

import html
import json
import math

import numpy as np

NAV = (("book", "/book", "Book"), ("account", None, "Account"), ("model", "/model", "Model"),
       ("cascade", "/cascade", "Cascade"), ("keeper", "/keeper", "Keeper"))
TIERS = ("healthy", "warning", "no_new_risk", "liquidatable")


def _default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return finite(float(o))
    if isinstance(o, np.ndarray):
        return [_default(x) if isinstance(x, (np.floating, float)) else x for x in o.tolist()]
    if isinstance(o, np.datetime64):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def finite(x: float):
    """A float for JSON: inf as "inf"/"-inf", NaN as null (JSON has neither)."""
    return x if math.isfinite(x) else (None if math.isnan(x) else ("inf" if x > 0 else "-inf"))


def _clean(o):
    if isinstance(o, float):
        return finite(o)
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def dumps(obj) -> str:
    """JSON text of an API document (numpy values converted, no NaN/inf literals)."""
    return json.dumps(_clean(obj), default=_default, allow_nan=False)


esc = html.escape


def usd(x) -> str:
    """A USD amount as text: ``1,234.56``; a string ("inf") is passed through."""
    if isinstance(x, (int, float)) and math.isfinite(x):
        return f"{x:,.2f}"
    return esc(str(x))


def num(x, fmt: str = ",.4g") -> str:
    return format(x, fmt) if isinstance(x, (int, float)) and math.isfinite(x) else esc(str(x))


def table(columns, rows, cls: str = "", attrs: str = "") -> str:
    """An HTML table; ``rows`` are lists of cell HTML (already escaped) or ``(html, td_attrs)``."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in r:
            content, a = c if isinstance(c, tuple) else (c, "")
            cells.append(f"<td{(' ' + a) if a else ''}>{content}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="{cls}" {attrs}><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def tier_badge(tier: str) -> str:
    return f'<span class="tier tier-{esc(tier)}">{esc(tier)}</span>'


def page(view: str, title: str, body: str, data=None, charts: bool = True) -> str:
    """A whole HTML document for ``view`` (see the module docstring)."""
    nav = "".join(f'<a href="{href}" class="{"active" if v == view else ""}">{esc(label)}</a>'
                  for v, href, label in NAV if href is not None)
    payload = dumps(data if data is not None else {}).replace("</", "<\\/")
    chart = '<script src="/static/chart.umd.js"></script>' if charts else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)} · calcm</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/dashboard.css"></head>
<body data-view="{esc(view)}">
<header><span class="brand">calcm</span><nav>{nav}</nav></header>
<main><h1>{esc(title)}</h1>
{body}
</main>
<script type="application/json" id="calcm-data">{payload}</script>
{chart}<script src="/static/dashboard.js"></script>
</body></html>"""


def error_page(view: str, title: str, message: str) -> str:
    return page(view, title, f'<p class="error" id="error">{esc(message)}</p>', {"error": message},
                charts=False)
