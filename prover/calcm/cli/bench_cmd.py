"""``calcm bench book``: the whole book proven at the published parameters (calcm.bench.book)."""
from __future__ import annotations

import click

from .output import console, emit_json, table


def _power_of_two(ctx, param, value):
    if value < 1 or value & (value - 1) or value > 64:
        raise click.BadParameter("must be a power of two in [1, 64]")
    return value


def register(main, bench, chain) -> None:
    @bench.command("book")
    @click.option("--accounts", type=click.IntRange(min=1), default=None,
                  help="a synthetic book of N accounts over the bundled instruments (default: the bundled book)")
    @click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                  help="seed of the synthetic book")
    @click.option("--group-size", type=int, default=8, show_default=True, callback=_power_of_two,
                  help="accounts per margin batch (N, a power of two; 8 gives the bundled book 3 "
                       "batches, which 2 workers balance better than 5 of N = 4)")
    @click.option("--backend", type=click.Choice(["auto", "arkworks", "snarkjs"]), default="auto",
                  show_default=True)
    @click.option("--workers", type=int, default=2, show_default=True,
                  help="margin batches proven at once (threads sharing one loaded key; "
                       "groth16py proves on one core and releases the GIL)")
    @click.option("--no-chain", is_flag=True, help="skip the Solidity verifier on an embedded anvil")
    @click.option("--json", "as_json", is_flag=True, help="one JSON object on stdout")
    def bench_book_cmd(accounts, seed, group_size, backend, workers, no_chain, as_json):
        """Prove every account of the book at the published parameters and check the proofs against
        `calcm margin`: constraints, setup and proving time, verifiers, gas, per-account rows."""
        from ..bench.book import BookBenchSettings, bench_book

        say = (lambda m: None) if as_json else (lambda m: console.print(f"[dim]{m}[/dim]"))
        doc = bench_book(BookBenchSettings(accounts=accounts, seed=seed, group_size=group_size,
                                           backend=backend, workers=workers, chain=not no_chain), say)
        if as_json:
            emit_json(doc)
        else:
            keys = ("accounts", "instruments", "scenarios", "es_level", "k_tail", "constraints",
                    "constraints_per_account_scenario", "setup_seconds", "key_load_seconds",
                    "prove_seconds", "workers",
                    "snarkjs_prove_seconds", "verify_gas", "backend", "matches_margin")
            table("calcm bench book", ["measure", "value"], [[k, doc[k]] for k in keys])
            table("accounts", ["account", "tier (margin)", "tier (proof)", "mm equal", "im equal",
                               "equity equal"],
                  [[r["account"], r["margin"]["tier"], r["proven"]["tier"],
                    *(r["margin"][f] == r["proven"][f] for f in ("mm", "im", "equity"))]
                   for r in doc["accounts_detail"]])
        if not doc["matches_margin"] or not all(v is not False for v in doc["verifiers"].values()):
            raise SystemExit(3)
