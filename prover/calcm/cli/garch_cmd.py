"""CLI of the GARCH persistence report: ``calcm risk garch`` (docs/MODEL.md section 2).

Per asset: nu, arch's persistence, the published persistence after the cap rule, both
log-likelihoods, LR and its boundary p-value, the IGARCH log-likelihood, the rule applied
and convergence (:func:`calcm.risk.persistence.persistence_report`). On the bundled market
(``--market``) and, where it exists, the real history ``../shared/data/prices`` (``--prices``);
without that directory and without ``--prices`` the real-history part is skipped in one line
(exit 0). A fit that fails or does not converge is listed per asset, never replaced.
"""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ..paths import DEFAULT_MARKET, SHARED_DATA
from .output import console, emit_json, table

DEFAULT_PRICES = SHARED_DATA / "prices" / "daily_close.csv"


def risk_group(main) -> click.Group:
    """The ``calcm risk`` group, created once whichever module registers first."""
    grp = main.commands.get("risk")
    if grp is None:
        @main.group("risk")
        def grp():
            """Risk-model reports (fits and rules behind the published parameters)."""
    return grp


def garch_report(markets: list[Path], prices: Path | None, vol_model: str, cap: float | None,
                 evidence: bool = False) -> dict:
    """The JSON document of ``calcm risk garch`` (one entry per market file read; ``evidence``:
    also :func:`calcm.risk.persistence.cap_evidence` per market)."""
    from ..market import load_market
    from ..risk.persistence import cap_evidence, persistence_report
    from ..risk.volatility import DEFAULT_PERSISTENCE_CAP

    skipped = []
    if prices is None:
        if DEFAULT_PRICES.exists():
            markets = markets + [DEFAULT_PRICES]
        else:
            skipped.append({"market": str(DEFAULT_PRICES), "reason": "not found (pass --prices)"})
    elif not Path(prices).exists():
        raise InputError(str(prices), "-", "-", "price history not found")
    else:
        markets = markets + [Path(prices)]
    out = []
    for path in markets:
        md = load_market(path)
        rows = persistence_report(md, vol_model, cap)
        out.append({"market": str(path), "first": str(md.dates[0]), "last": str(md.dates[-1]), "assets": rows})
        if evidence:
            out[-1]["evidence"] = cap_evidence(md, vol_model)
    return {"vol_model": vol_model, "cap": DEFAULT_PERSISTENCE_CAP if cap is None else cap,
            "markets": out, "skipped": skipped,
            "not_converged": [f"{m['market']}:{r['asset']}" for m in out for r in m["assets"]
                              if r["error"] is None and not r["converged"]],
            "errors": [f"{m['market']}:{r['asset']}: {r['error']}" for m in out for r in m["assets"]
                       if r["error"] is not None]
            + [f"{m['market']}:{e} (evidence)" for m in out for e in m.get("evidence", {}).get("errors", ())]}


def _print(doc: dict) -> None:
    for m in doc["markets"]:
        rows = []
        for r in m["assets"]:
            if r["error"] is not None:
                rows.append([r["asset"], r["n"]] + ["-"] * 10 + [f"error: {r['error']}"])
                continue
            rows.append([r["asset"], r["n"], f"{r['nu']:.2f}", f"{r['phi_u']:.4f}", f"{r['phi']:.4f}",
                         f"{r['loglik_u']:.2f}", f"{r['loglik_c']:.2f}", f"{r['lr']:.2f}", f"{r['p_value']:.3g}",
                         f"{r['loglik_igarch']:.2f}", f"{r['lr_igarch']:.2f}", r["rule"],
                         "yes" if r["converged"] else "NO"])
        table(f"GARCH persistence, {doc['vol_model']}, cap {doc['cap']}: {m['market']} "
              f"({m['first']}..{m['last']})",
              ["asset", "n", "nu", "phi arch", "phi published", "loglik arch", "loglik capped", "LR",
               "p (0.5chi2_0+0.5chi2_1)", "loglik IGARCH", "LR IGARCH", "rule", "converged"], rows)
        if "evidence" in m:
            ev = m["evidence"]
            yrs = f"{ev['years'][0]}-{ev['years'][-1]}" if ev["years"] else "no year"
            table(f"evidence: {ev['n_forecasts']} 2-day forecasts (yearly refits; {yrs}, 250 prior returns)",
                  ["rule", "loglik loss", "LR rejects at 5%", "QLIKE - arch's", "t (DM)"],
                  [[k, f"{ev['likelihood'][k]['loglik_loss']:.2f}" if k in ev["likelihood"] else "-",
                    ", ".join(ev["likelihood"][k]["rejected_5pct"]) if k in ev["likelihood"] else "-",
                    f"{q['mean_diff_vs_arch']:+.5f}", f"{q['t']:.2f}"] for k, q in ev["qlike"].items()])
    for s in doc["skipped"]:
        console.print(f"skipped {s['market']}: {s['reason']}")
    for what in ("not_converged", "errors"):
        if doc[what]:
            console.print(f"[bold]{what.replace('_', ' ')}[/bold] (reported, not replaced): "
                          + "; ".join(doc[what]))


def register(main, bench, chain) -> None:
    @risk_group(main).command("garch")
    @click.option("--market", "markets", type=click.Path(exists=True, path_type=Path), multiple=True,
                  help="market file(s) (repeatable; default: the bundled market)")
    @click.option("--prices", type=click.Path(path_type=Path), default=None,
                  help=f"real price history (default: {DEFAULT_PRICES} when it exists)")
    @click.option("--vol-model", type=click.Choice(["gjr", "garch"]), default="gjr", show_default=True)
    @click.option("--cap", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
                  help="persistence cap (default: the model's, docs/MODEL.md section 2)")
    @click.option("--evidence", is_flag=True,
                  help="also the cap choice: likelihood loss and out-of-sample 2-day QLIKE per cap")
    @click.option("--json", "as_json", is_flag=True, help="JSON on stdout")
    def garch_cmd(markets, prices, vol_model, cap, evidence, as_json):
        """Persistence rule per asset: arch's fit vs the capped MLE (LR test) vs IGARCH."""
        doc = garch_report(list(markets) or [DEFAULT_MARKET], prices, vol_model, cap, evidence)
        if as_json:
            emit_json(doc)
        else:
            _print(doc)
