"""Account view: explain, the what-if form and the inclusion check of one account.

The numbers come from the trader functions (``calcm.trader``: the same code as ``calcm
explain / whatif / inclusion``) through an :class:`AccountService` wired in by the CLI
(``calcm.cli.serve_trader``), so the page and ``calcm whatif --json`` agree bit for bit.

Documents:

- ``/api/account/{id}`` -> ``service.summary(id)``: ``{"account": {id, positions, collateral,
  salt}, "explain": Explanation.to_json(), "instruments": [...], "assets": [...],
  "record": <what the inclusion check compares against>}``;
- ``POST /api/account/{id}/whatif`` ``{"trades": ["BTC-PERP:+2", ...], "deposits": ["USDC:1000"],
  "withdrawals": [...], "search_factor": 100}`` -> ``WhatIf.to_json()`` (= ``calcm whatif --json``);
- ``POST /api/account/{id}/inclusion`` ``{"positions": {...}, "collateral": {...}, "salt": "0x.."}``
  (the trader's own data) -> ``Inclusion.to_json()``: ``ok`` and the checks in order.
"""
from __future__ import annotations

from typing import Protocol

from .layout import esc, num, page, table, tier_badge, usd


class AccountService(Protocol):
    """What the account view needs from the trader stage (see the module docstring)."""

    def summary(self, account_id: str) -> dict: ...

    def whatif(self, account_id: str, trades: list[str], deposits: list[str], withdrawals: list[str],
               search_factor: float = 100.0) -> dict: ...

    def inclusion(self, account_id: str, account: dict) -> dict: ...


def _margin_table(m: dict) -> str:
    f = m.get("float") or {}
    rows = [[esc(label), (usd(m[k]), f'data-field="{k}" data-raw="{esc(str(m["raw"].get(k, "")))}"'),
             usd(f.get(k, "-"))]
            for k, label in (("es", "ES"), ("addon", "add-on"), ("mm", "MM"), ("im", "IM"),
                             ("collateral_value", "collateral after haircuts"), ("equity", "equity"))]
    rows.append(["margin ratio", num(m["ratio"], ".3f"), num(f.get("ratio", "-"), ".3f")])
    rows.append(["tier", tier_badge(m["tier"]), esc(str(f.get("tier", "-")))])
    return table(["measure", "published (proven)", "float model"], rows, "margin", 'id="margin"')


def _explain_html(e: dict) -> str:
    tail = table(["#", "scenario", "kind", "loss", "shocks", "vol shock"],
                 [[str(s["index"]), esc(s["name"]), esc(s["kind"]), usd(s["loss"]),
                   esc(" ".join(f"{u} {r:+.1%}" for u, r in s["shocks"].items())),
                   "-" if s["vol_shock"] is None else f'{s["vol_shock"]:+.0%}'] for s in e["tail"]],
                 "tail", 'id="tail"')
    contrib = table(["instrument", "quantity", "ES contribution", "float"],
                    [[esc(c["instrument"]), num(c["quantity"], "g"), usd(c["es"]),
                      usd(c["float_es"]) if c["float_es"] is not None else "-"] for c in e["contributions"]],
                    "contributions", 'id="contributions"')
    addons = table(["underlying", "net exposure", "add-on", "ADV"],
                   [[esc(a["underlying"]), usd(a["exposure"]), usd(a["addon"]), usd(a["adv"])] for a in e["addons"]],
                   "addons")
    coll = table(["asset", "amount", "price", "haircut", "value after haircut"],
                 [[esc(c["asset"]), num(c["amount"], ",g"), usd(c["price"]), f'{c["haircut"]:.0%}', usd(c["value"])]
                  for c in e["collateral"]], "collateral")
    if e["moves"] is not None:
        moves = table(["underlying", "direction", "tier reached", "move", "price"],
                      [[esc(m["underlying"]), esc(m["direction"]), tier_badge(m["tier"]), esc(m["text"]),
                        "-" if m["price"] is None else usd(m["price"])] for m in e["moves"]], "moves", 'id="moves"')
    else:
        moves = f'<p class="sub">{esc(e.get("moves_note") or "price moves not computed")}</p>'
    return f"""
<h2>Why this margin</h2>
<div class="grid2"><div><h3>Margin</h3>{_margin_table(e["margin"])}</div>
<div><h3>Euler ES contributions (sum {usd(e["contributions_sum"])})</h3>{contrib}
<div class="chart small"><canvas id="chart-contrib"></canvas></div></div></div>
<h3>The k={e["k"]} tail scenarios that set the ES</h3>{tail}
<div class="grid2"><div><h3>Add-on per underlying</h3>{addons}</div><div><h3>Collateral</h3>{coll}</div></div>
<h3>Price move of one underlying (others fixed) that reaches each worse tier</h3>{moves}"""


def _options(values, selected=None) -> str:
    return "".join(f'<option value="{esc(v)}"{" selected" if v == selected else ""}>{esc(v)}</option>' for v in values)


def _whatif_form(doc: dict) -> str:
    ins, assets = doc["instruments"], doc["assets"]
    rows = "".join(f"""<div class="row trade-row"><select name="instrument" class="trade-instrument">
<option value="">(instrument)</option>{_options(ins)}</select>
<input name="size" class="trade-size" placeholder="size, e.g. +2" size="10"></div>""" for _ in range(3))
    return f"""
<h2>What if</h2>
<form id="whatif-form" class="panel" autocomplete="off">
<p class="sub">Trades add to the position (signed units); cash moves in token units. Same function as
<code>calcm whatif --json</code>.</p>
{rows}
<div class="row"><select name="cash-kind" id="cash-kind"><option value="deposit">deposit</option>
<option value="withdraw">withdraw</option></select>
<select name="cash-asset" id="cash-asset"><option value="">(asset)</option>{_options(assets)}</select>
<input name="cash-amount" id="cash-amount" placeholder="amount" size="10"></div>
<div class="row"><label>search up to <input id="search-factor" name="search-factor" value="100" size="5"> × size</label>
<button type="submit" id="whatif-submit">Compute</button></div>
</form>
<div id="whatif-result" class="result"></div>"""


def _inclusion_form(doc: dict) -> str:
    import json
    acc = doc["account"]
    mine = {"positions": acc["positions"], "collateral": acc["collateral"], "salt": acc["salt"]}
    return f"""
<h2>Verify my record</h2>
<form id="inclusion-form" class="panel" autocomplete="off">
<p class="sub">Your positions, collateral and salt (as the venue holds them). The check recomputes your leaf,
its Merkle path to the recorded accounts root, the model commitments and your tier against
<b id="record-source">{esc(doc["record"])}</b>.</p>
<textarea id="inclusion-account" name="account" rows="8" cols="80" spellcheck="false">{esc(json.dumps(mine, indent=1))}</textarea>
<div class="row"><button type="submit" id="inclusion-submit">Check inclusion</button></div>
</form>
<div id="inclusion-result" class="result"></div>"""


def account_page(doc: dict) -> str:
    e, acc = doc["explain"], doc["account"]
    m = e["margin"]
    pos = ", ".join(f"{esc(k)} {v:+g}" for k, v in acc["positions"].items() if v) or "no positions"
    col = ", ".join(f"{esc(k)} {v:,g}" for k, v in acc["collateral"].items() if v) or "no collateral"
    body = f"""
<p class="sub" id="account-head"><b id="account-id">{esc(acc["id"])}</b> · {tier_badge(m["tier"])} · as of {esc(e["asof"])}
· MM {usd(m["mm"])} · IM {usd(m["im"])} · equity {usd(m["equity"])}</p>
<p class="sub">positions: {pos} · collateral: {col}</p>
{_explain_html(e)}
{_whatif_form(doc)}
{_inclusion_form(doc)}"""
    return page("account", f"Account {acc['id']}", body, doc)
