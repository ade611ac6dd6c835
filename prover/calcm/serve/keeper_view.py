"""Keeper view: blocks, proofs, latency and gas from a keeper's SQLite store.

``keeper_data(path) -> dict`` reads :class:`calcm.keeper.store.Store` at ``path`` (never
creating it): ``exists`` False gives the empty state. Otherwise:

- ``blocks``: counts per status and the last :data:`LAST` rows (number, status, reason);
- ``submissions``: every row (key, kind, block, group, status, attempts, gas, tx, error),
  with ``latency_s`` = ``updated_at - created_at`` (seconds from opening the job to its
  last status change: proving + sending + mining for a ``mined`` row);
- ``totals``: :meth:`Store.counts` plus the mean and max latency of mined rows per kind,
  and gas per kind (mined rows).
"""
from __future__ import annotations

from pathlib import Path

from .layout import esc, page, table

LAST = 200


def keeper_data(path: Path) -> dict:
    from ..keeper.store import Store
    path = Path(path)
    if not path.is_file():
        return {"store": str(path), "exists": False}
    with Store(path) as st:
        counts = st.counts()
        blocks = st.blocks()[-LAST:]
        rows = st.db.execute("SELECT key, kind, block, grp, root_version, status, tx_hash, receipt_block, "
                             "gas_used, attempts, error, created_at, updated_at FROM submissions "
                             "ORDER BY created_at, key").fetchall()
        meta = {k: st.meta(k) for k in ("chain_id", "registry", "param_hash", "schema_version")}
    subs = [{"key": r["key"], "kind": r["kind"], "block": r["block"], "group": r["grp"],
             "root_version": r["root_version"], "status": r["status"], "tx_hash": r["tx_hash"],
             "receipt_block": r["receipt_block"], "gas_used": r["gas_used"], "attempts": r["attempts"],
             "error": r["error"], "latency_s": r["updated_at"] - r["created_at"]} for r in rows]
    per_kind: dict[str, dict] = {}
    for s in subs:
        if s["status"] != "mined":
            continue
        k = per_kind.setdefault(s["kind"], {"mined": 0, "gas": 0, "latency": []})
        k["mined"] += 1
        k["gas"] += s["gas_used"] or 0
        k["latency"].append(s["latency_s"])
    for k in per_kind.values():
        lat = k.pop("latency")
        k["mean_latency_s"], k["max_latency_s"] = sum(lat) / len(lat), max(lat)
    return {"store": str(path), "exists": True, "meta": meta, "counts": counts, "per_kind": per_kind,
            "blocks": [{k: b[k] for k in ("number", "status", "reason")} for b in blocks],
            "submissions": subs}


def keeper_page(doc: dict) -> str:
    if not doc["exists"]:
        body = f"""<div class="empty" id="keeper-empty"><p>No keeper state at <code>{esc(doc["store"])}</code>.</p>
<p>Run <code>calcm keeper run</code> or <code>calcm demo</code> (which writes <code>out/keeper.sqlite</code>),
or start the server with <code>calcm serve --store PATH</code>.</p></div>"""
        return page("keeper", "Keeper", body, doc, charts=False)
    c = doc["counts"]
    blocks = ", ".join(f"{esc(k)} {v}" for k, v in c["blocks"].items()) or "none"
    kinds = table(["kind", "mined", "gas (total)", "mean latency s", "max latency s"],
                  [[esc(k), str(v["mined"]), f'{v["gas"]:,}', f'{v["mean_latency_s"]:.2f}', f'{v["max_latency_s"]:.2f}']
                   for k, v in doc["per_kind"].items()], "kinds", 'id="kinds"')
    subs = table(["key", "kind", "block", "status", "attempts", "gas", "latency s", "error"],
                 [[esc(s["key"]), esc(s["kind"]), str(s["block"]), esc(s["status"]), str(s["attempts"]),
                   "-" if s["gas_used"] is None else f'{s["gas_used"]:,}', f'{s["latency_s"]:.2f}',
                   esc((s["error"] or "")[:80])] for s in doc["submissions"]], "submissions", 'id="submissions"')
    body = f"""
<p class="sub">store {esc(doc["store"])} · registry {esc(str(doc["meta"].get("registry")))} ·
blocks: {blocks} · gas used (mined) {c["gas_used"]:,}</p>
<section class="charts"><div class="chart"><canvas id="chart-gas"></canvas></div>
<div class="chart"><canvas id="chart-latency"></canvas></div></section>
<h2>Per kind</h2>{kinds}
<h2>Submissions</h2>{subs}"""
    return page("keeper", "Keeper", body, doc)
