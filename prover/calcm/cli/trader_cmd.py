"""CLI commands for traders: ``whatif``, ``explain``, ``inclusion`` and ``model export``.

Thin wrappers over :mod:`calcm.trader` (the same functions back ``calcm serve``): each
prints a rich table, or the function's ``to_json()`` with ``--json``. Exit codes: 0 ok,
2 bad input (one line naming the field), 3 a verification failed (one line naming the
check), 4 the chain is unavailable.
"""
from __future__ import annotations

import sys
from functools import wraps
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..paths import DEFAULT_BOOK
from .output import console, emit_json, fmt_number
from .progress import step
from .risk_cmd import (_params, _volumes_for, asof_opt, es_opt, market_opt, vol_opt, volumes_opt,
                       warn_not_converged)

book_opt = click.option("--book", "--portfolios", "book", type=click.Path(path_type=Path), default=DEFAULT_BOOK,
                        show_default=True, help="book JSON: instruments, collateral, accounts (with salts)")
profile_opt = click.option("--profile", type=click.Choice(["published", "fast"]), default="published",
                           show_default=True, help="named published parameter set (as `calcm margin`)")
model_opt = click.option("--model", "model_dir", type=click.Path(path_type=Path), default=None,
                         help="a `calcm model export` directory: use it instead of building the model")
account_opt = click.option("--account", required=True, help="account id in the book")
json_opt = click.option("--json", "as_json", is_flag=True, help="JSON on stdout")


def context_opts(f):
    for opt in (model_opt, profile_opt, vol_opt, es_opt, asof_opt, book_opt, volumes_opt, market_opt):
        f = opt(f)
    return f


def _out() -> Console:
    return console  # wide when piped (output.PIPE_WIDTH)


def exits(f):
    """Verification failures exit 3, an unavailable chain exits 4 (one line each)."""
    @wraps(f)
    def run(*a, **k):
        from ..trader.export import VerificationFailed
        from ..trader.registry_reads import ChainUnavailable
        try:
            return f(*a, **k)
        except VerificationFailed as exc:
            click.echo(f"calcm: verification failed: {exc}", err=True)
            sys.exit(3)
        except ChainUnavailable as exc:
            click.echo(f"calcm: chain unavailable: {exc}", err=True)
            sys.exit(4)
    return run


def check_account(book, account: str):
    """The book, loaded, with ``account`` in it (checked before any model is built)."""
    from ..errors import InputError
    from ..risk.book import load_book
    bk = load_book(book)
    if account not in {a.id for a in bk.accounts}:
        raise InputError(bk.source, f"account '{account}'", "--account", "no such account in the book")
    return bk


def load_context(market, volumes, book, asof, es_level, vol_model, profile, model_dir):
    """The published model of the book (or the export ``model_dir``) as a TraderContext."""
    from ..market import load_market
    from ..risk.book import load_book
    from ..trader.context import published_context
    from ..trader.export import load_export

    bk = load_book(book)
    if model_dir is not None:
        return load_export(model_dir, bk)
    md = load_market(market, _volumes_for(market, volumes))
    with step("fitting the published model"):
        ctx = published_context(md, bk, _params(es_level, vol_model, profile), asof)
    warn_not_converged(md.source, ctx.risk)
    return ctx


def _usd(x) -> str:
    return fmt_number(float(x)) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def print_whatif(w) -> None:
    d = w.to_json()
    b, a = d["before"], d["after"]
    t = Table(title=f"calcm whatif {w.account}, as of {w.asof}: published (proven) numbers, float beside; USD")
    for c in ("measure", "before", "after", "change", "float before", "float after"):
        t.add_column(c, justify="left" if c == "measure" else "right")
    fb, fa = b.get("float") or {}, a.get("float") or {}
    for key, label in (("mm", "MM"), ("im", "IM"), ("equity", "equity"), ("collateral_value", "collateral"),
                       ("ratio", "margin ratio"), ("tier", "tier")):
        chg = "" if key in ("tier", "ratio") or not isinstance(a[key], float) else _usd(a[key] - b[key])
        t.add_row(label, _usd(b[key]), _usd(a[key]), chg, _usd(fb.get(key, "-")), _usd(fa.get(key, "-")))
    out = _out()
    out.print(t)
    t2 = Table(title="per trade (alone on the account)")
    for c in ("instrument", "size", "marginal IM", "largest size keeping the tier"):
        t2.add_column(c, justify="left" if c == "instrument" else "right")
    for p in d["per_trade"]:
        ms = p["max_size"]
        t2.add_row(p["instrument"], f"{p['size']:+g}", _usd(p["marginal_im"]),
                   f"unbounded (searched to {p['search_limit']:g})" if ms == "unbounded" else f"{ms:g}")
    if d["per_trade"]:
        out.print(t2)
    if d["cash"]:
        out.print("cash: " + ", ".join(f"{c['asset']} {c['amount']:+,g}" for c in d["cash"]))


def print_explain(e) -> None:
    d = e.to_json()
    m = d["margin"]
    out = _out()
    out.print(f"[bold]{e.account}[/bold] as of {e.asof}: ES {m['es']:,.2f}, add-on {m['addon']:,.2f}, "
              f"MM {m['mm']:,.2f}, IM {m['im']:,.2f}, equity {m['equity']:,.2f}, tier {m['tier']} (published)")
    t = Table(title=f"the k={e.k} tail scenarios that set the ES")
    for c in ("#", "scenario", "kind", "loss", "shocks (return per underlying)", "vol shock"):
        t.add_column(c, justify="right" if c in ("#", "loss", "vol shock") else "left")
    for s in d["tail"]:
        shocks = " ".join(f"{u} {r:+.1%}" for u, r in s["shocks"].items())
        t.add_row(str(s["index"]), s["name"], s["kind"], _usd(s["loss"]), shocks,
                  "-" if s["vol_shock"] is None else f"{s['vol_shock']:+.0%}")
    out.print(t)
    t = Table(title=f"Euler ES contributions (sum {d['contributions_sum']:,.2f})")
    for c in ("instrument", "quantity", "ES contribution", "float"):
        t.add_column(c, justify="left" if c == "instrument" else "right")
    for c in d["contributions"]:
        t.add_row(c["instrument"], f"{c['quantity']:g}", _usd(c["es"]), _usd(c["float_es"] if c["float_es"] is not None else "-"))
    out.print(t)
    t = Table(title="add-on per underlying and collateral after haircuts")
    for c in ("item", "exposure / amount", "add-on / value"):
        t.add_column(c, justify="left" if c == "item" else "right")
    for a in d["addons"]:
        t.add_row(f"add-on {a['underlying']}", _usd(a["exposure"]), _usd(a["addon"]))
    for c in d["collateral"]:
        t.add_row(f"collateral {c['asset']} (haircut {c['haircut']:.0%})", f"{c['amount']:,g}", _usd(c["value"]))
    out.print(t)
    if d["moves"] is not None:
        t = Table(title="price move of one underlying (others fixed) that reaches each tier")
        for c in ("underlying", "direction", "tier", "move", "price"):
            t.add_column(c, justify="left" if c in ("underlying", "direction", "tier") else "right")
        for mv in d["moves"]:
            t.add_row(mv["underlying"], mv["direction"], mv["tier"], mv["text"],
                      "-" if mv["price"] is None else _usd(mv["price"]))
        out.print(t)
    elif d["moves_note"]:
        out.print(f"price moves: {d['moves_note']}")


def register(main, bench, chain) -> None:
    """Attach ``whatif``, ``explain``, ``inclusion`` and the ``model`` group to the root."""

    @main.command("whatif")
    @account_opt
    @click.option("--trade", "trades", multiple=True, help="INSTRUMENT:SIZE, e.g. BTC-PERP:+2 (repeatable)")
    @click.option("--deposit", "deposits", multiple=True, help="ASSET:AMOUNT collateral deposit (repeatable)")
    @click.option("--withdraw", "withdrawals", multiple=True, help="ASSET:AMOUNT collateral withdrawal")
    @click.option("--search-factor", type=float, default=100.0, show_default=True,
                  help="largest-size search goes up to this multiple of each trade's size")
    @context_opts
    @json_opt
    @exits
    def whatif_cmd(account, trades, deposits, withdrawals, search_factor, market, volumes, book, asof,
                   es_level, vol_model, profile, model_dir, as_json):
        """Margin before and after hypothetical trades and collateral moves (published model)."""
        from ..trader.trades import apply, parse_cash, parse_trade
        from ..trader.whatif import check_request, whatif
        bk = check_account(book, account)     # every input is checked before fitting anything
        tr = [parse_trade(s, bk) for s in trades]
        cash = [parse_cash(s, bk, "--deposit") for s in deposits] + \
               [parse_cash(s, bk, "--withdraw") for s in withdrawals]
        check_request(tr, cash, search_factor)
        apply(next(a for a in bk.accounts if a.id == account), tr, cash)
        ctx = load_context(market, volumes, book, asof, es_level, vol_model, profile, model_dir)
        w = whatif(ctx, account, tr, cash, search_factor)
        emit_json(w.to_json()) if as_json else print_whatif(w)

    @main.command("explain")
    @account_opt
    @click.option("--max-move", type=float, default=0.5, show_default=True,
                  help="largest relative price move searched for tier boundaries")
    @click.option("--no-moves", is_flag=True, help="skip the tier-boundary price search")
    @context_opts
    @json_opt
    @exits
    def explain_cmd(account, max_move, no_moves, market, volumes, book, asof, es_level, vol_model, profile,
                    model_dir, as_json):
        """Why an account's margin is what it is: tail scenarios, contributions, add-ons, tier moves."""
        from ..errors import InputError
        from ..trader.explain import explain
        if not (0 < max_move <= 10):
            raise InputError("--max-move", repr(max_move), "-", "must be in (0, 10]")
        check_account(book, account)
        ctx = load_context(market, volumes, book, asof, es_level, vol_model, profile, model_dir)
        e = explain(ctx, account, max_move, moves=not no_moves)
        emit_json(e.to_json()) if as_json else print_explain(e)

    @main.command("inclusion")
    @account_opt
    @click.option("--rpc", default=None, help="JSON-RPC URL of the chain holding the registry")
    @click.option("--registry", default=None, help="MarginRegistry address (with --rpc)")
    @click.option("--proof-dir", type=click.Path(path_type=Path), default=None,
                  help="a proof directory (or a directory of group-XXXX proof directories)")
    @click.option("--owner", default=None, help="on-chain owner of the account (default: the demo owner)")
    @click.option("--depth", type=click.IntRange(1, 40), default=10, show_default=True,
                  help="accounts-tree depth (chain variant; a proof directory records its own)")
    @click.option("--verify-proof", is_flag=True, help="also verify the Groth16 proof (proof directory)")
    @context_opts
    @json_opt
    @exits
    def inclusion_cmd(account, rpc, registry, proof_dir, owner, depth, verify_proof, market, volumes, book,
                      asof, es_level, vol_model, profile, model_dir, as_json):
        """Check your record: your leaf, its Merkle path to the recorded root, the model and your tier."""
        from ..errors import InputError
        from ..trader.export import VerificationFailed
        from ..trader.inclusion import inclusion
        from ..trader.registry_reads import connect
        if (proof_dir is None) == (rpc is None and registry is None):
            raise InputError("inclusion", "-", "--proof-dir/--rpc", "give --proof-dir DIR or --rpc URL --registry ADDR")
        if proof_dir is None and (rpc is None or registry is None):
            raise InputError("inclusion", "-", "--rpc/--registry", "the chain variant needs both --rpc and --registry")
        if proof_dir is not None and not Path(proof_dir).is_dir():
            raise InputError(str(proof_dir), "-", "--proof-dir", "not a directory")
        check_account(book, account)
        reader = connect(rpc, registry) if proof_dir is None else None
        if owner is not None:
            from web3 import Web3
            if not Web3.is_address(owner):
                raise InputError("--owner", repr(owner), "-", "not an address")
        ctx = load_context(market, volumes, book, asof, es_level, vol_model, profile, model_dir)
        res = inclusion(ctx, account, proof_dir=proof_dir, reader=reader, owner=owner, depth=depth,
                        verify_proof=verify_proof)
        if as_json:
            emit_json(res.to_json())
        else:
            t = Table(title=f"inclusion of {res.account} (leaf {res.leaf}) against {res.source}")
            for c in ("check", "result", "detail"):
                t.add_column(c)
            for c in res.checks:
                t.add_row(c.name, "ok" if c.ok else "FAILED", c.detail)
            _out().print(t)
        if not res.ok:
            f = res.failure
            raise VerificationFailed(f"inclusion of {res.account}: {f.name} check failed: {f.detail}")

    @main.group("model", cls=type(main))
    def model_group():
        """The published model's public files."""

    @model_group.command("export")
    @click.option("--out", type=click.Path(path_type=Path), required=True, help="output directory")
    @click.option("--block", type=click.IntRange(min=0), default=None,
                  help="check the export against the registry's commitments at this block (with --rpc)")
    @click.option("--rpc", default=None, help="JSON-RPC URL (with --block and --registry)")
    @click.option("--registry", default=None, help="MarginRegistry address")
    @click.option("--proof-dir", type=click.Path(path_type=Path), default=None,
                  help="check the export against a margin proof's lin/opt commitments")
    @context_opts
    @json_opt
    @exits
    def export_cmd(out, block, rpc, registry, proof_dir, market, volumes, book, asof, es_level, vol_model,
                   profile, model_dir, as_json):
        """Write the published model (parameters, GARCH state, scenario P&L, commitments) as JSON files."""
        from ..errors import InputError
        from ..trader.export import VerificationFailed, compare_commitments, export_model, prepare_out
        prepare_out(out)
        origin = {"source": "published", "asof": asof}
        recorded = None
        if block is not None or rpc is not None or registry is not None:
            if None in (block, rpc, registry):
                raise InputError("model export", "-", "--block/--rpc/--registry", "give all three together")
            from ..trader.registry_reads import connect
            reader = connect(rpc, registry)
            if block > reader.head():
                raise InputError("--block", str(block), "-", f"is after the chain head {reader.head()}")
            recorded = reader.commitments(block)
            origin = {"source": "chain", "block": block, "registry": reader.address, "rpc": rpc}
        elif proof_dir is not None:
            from ..zk.artifacts import proof_dirs, read
            from ..zk.config import PUBLIC_SIGNALS
            art = read(proof_dirs(Path(proof_dir))[0])
            pub = dict(zip(PUBLIC_SIGNALS, art.public))
            recorded = {"lin_commitment": str(pub.get("linCommitment")), "opt_commitment": str(pub.get("optCommitment"))}
            origin = {"source": "proof", "dir": str(art.dir)}
        ctx = load_context(market, volumes, book, asof, es_level, vol_model, profile, model_dir)
        if recorded is not None:
            keys = ("lin_commitment", "opt_commitment") if origin["source"] == "proof" else \
                ("lin_commitment", "opt_commitment", "param_hash")
            bad = compare_commitments(ctx, recorded, keys)
            if bad:
                raise VerificationFailed(f"the {origin['source']} records {', '.join(bad)} that the published model "
                                         f"at {ctx.asof} does not give (another --asof, --profile or book?)")
            origin["recorded"] = recorded
        res = export_model(ctx, out, origin)
        if as_json:
            emit_json(res.to_json())
            return
        t = Table(title=f"model export -> {res.out} (as of {res.asof})")
        t.add_column("item")
        t.add_column("value")
        for k, v in res.commitments.items():
            t.add_row(k, str(v))
        for k, v in res.files.items():
            t.add_row(k, v[:16] + "…")
        _out().print(t)
