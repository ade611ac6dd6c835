"""Equivalence: the circuits compute exactly the Python fixed-point model, which stays within
the documented bound of the float model.

Circuit vs Python (bit for bit). For every case of :mod:`calcm.audit.cases` the
circuit input and the expected values come from the project's own witness
builders (:func:`calcm.zk.witness.batch_input`,
:func:`calcm.zk.model_witness.step_input`, ``reval_input``, ``part_input``), the witness from the circuit's wasm
(:func:`calcm.audit.wasm.calculate_many`). Compared, by name through the
``.sym`` file (a signal that ``--O2`` folded away has no witness value and is
counted as "not in the witness"):

- the public signals: the witness must compute with no failed assertion (the
  circuit checks ``packedResult``, ``linCommitment``, ``optCommitment``,
  ``accountsRoot``, ``paramHash``, ... against the reference's values with
  ``===``), and the circuit's own signals for them (the two scenario sponges,
  tiers, ``contextSquared``) are compared too;
- every key intermediate: per account the net linear quantities, the scenario
  losses, the tail hints (selection, step, threshold: the published tie rule),
  tail sum, raw and floored ES, exposures, add-on terms, add-on, MM, IM,
  collateral value, equity and tier, and the account commitments and the
  group's subtree root;
  for the model circuits (step, reval, each option part) every intermediate the
  witness builder's ``ModelExpected.signals`` names (returns, variances, vols,
  moves, scenario moves, option values and P&L) and the public commitments.

Fixed point vs float (margin): the bundled book and seeded random books,
``|fixed - float| <= fx_error_bounds`` for ES, add-on, MM, IM, collateral value
and equity, and equal tiers wherever equity is farther than the bounds from
every threshold (docs/MODEL.md section 9).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ..fixedpoint import FIELD_PRIME, MONEY_SCALE
from ..zk.config import PUBLIC_SIGNALS
from ..poseidon import account_commitment, lin_commitment, opt_commitment
from ..risk.fixed_margin import net_linear
from ..zk.prove import ContextInfo
from ..zk.witness import batch_input, calculate_witness, venue_tree
from ..zk.wtns import read_sym
from .cases import MarginCase, ModelCase
from .report import FAIL, PASS, SKIP, Check, Timer
from .wasm import WasmWitness, calculate_many

#: Per-account reference fields and their signal names in AccountMargin (aliases in order).
ACCOUNT_FIELDS = {
    "tail_sum": ("risk.shortfall.tailSum", "risk.tail.sum", "shortfall.tailSum", "tail.sum"),
    "es_raw": ("risk.shortfall.esRaw", "shortfall.esRaw"),
    "es": ("es", "risk.es", "shortfall.es"),
    "addon": ("addon", "liquidity.addon"),
    "mm": ("mm",),
    "im": ("im", "initial.im"),
    "collateral_value": ("collateralValue", "health.collateralValue", "health.cv.value"),
    "equity": ("equity", "health.equity", "health.eq.equity"),
    "tier": ("tier", "health.tier", "health.health.tier"),
}


class Tally:
    """Counts and mismatch lines of one equivalence run."""

    def __init__(self):
        self.cases = 0
        self.compared = 0
        self.not_in_witness = 0
        self.mismatches: list[str] = []
        self.names: set[str] = set()

    def compare(self, case: str, label: str, names, want: int, wit: WasmWitness, sym: dict) -> None:
        idx = next((sym[n] for n in names if n in sym), None)
        if idx is None:
            self.not_in_witness += 1
            return
        got, want = wit.values[idx], want % FIELD_PRIME
        self.compared += 1
        self.names.add(label)
        if got != want:
            self.mismatches.append(f"{case}: {label}: circuit {_signed(got)} != reference {_signed(want)}")

    def run_problems(self, case: str, wit: WasmWitness) -> bool:
        """Record a failed assertion or an abort; True when there are values to compare."""
        for a in dict.fromkeys(wit.asserts):
            self.mismatches.append(f"{case}: circuit assertion failed ({a}): the circuit disagrees "
                                   f"with the reference's public signals")
        if wit.error:
            self.mismatches.append(f"{case}: witness calculator aborted: {wit.error}")
        return wit.values is not None


def _signed(v: int) -> int:
    return v - FIELD_PRIME if v > FIELD_PRIME // 2 else v


# ------------------------------------------------------------------------------ margin

def margin_expectations(config, case: MarginCase, context: int):
    """(input JSON, [(label, sym names, reference value)]) for one margin batch."""
    tree = venue_tree(case.leaves, config)
    accounts = case.accounts(config.N)
    inp, expected = batch_input(config, case.model, accounts, case.group, tree, context)
    rows = [(f"public {name}", (f"main.{name}",), v) for name, v in zip(PUBLIC_SIGNALS, expected.public)]
    rows.append(("contextSquared", ("main.contextSquared",), context * context))
    rows.append(("lin commitment", ("main.model.linC.commitment", "main.model.linC.sponge.out"), lin_commitment(case.model)))
    if case.model.n_options:
        rows.append(("opt commitment", ("main.model.optC.commitment",), opt_commitment(case.model)))
    rows.append(("group subtree root", ("main.accounts.subtree.root", "main.accounts.path.node"),
                 tree.group_root(case.group, config.N)))
    for a, (acc, res) in enumerate(zip(accounts, expected.results)):
        p = f"main.margin[{a}]."
        rows.append((f"account {a} commitment", (f"main.accounts.commit[{a}].commitment", f"main.accounts.subtree.leaves[{a}]"),
                     account_commitment(acc)))
        for u, nq in enumerate(net_linear(case.model, acc.qty)):
            rows.append((f"account {a} nq[{u}]", (f"{p}pos.nq[{u}]", f"{p}losses.nq[{u}]"), nq))
        for s, loss in enumerate(res.losses):
            rows.append((f"account {a} loss[{s}]", (f"{p}losses.loss[{s}]", f"{p}tail.loss[{s}]"), loss))
            rows.append((f"account {a} inTail[{s}]", (f"{p}tail.inTail[{s}]", f"main.inTail[{a}][{s}]"),
                         res.tail_bits[s]))
            rows.append((f"account {a} tailStep[{s}]", (f"{p}tail.tailStep[{s}]", f"{p}tailStep[{s}]",
                                                            f"main.tailStep[{a}][{s}]"),
                         int(s <= res.tail_last)))
        rows.append((f"account {a} threshold", (f"{p}tail.threshold", f"main.threshold[{a}]"), res.threshold))
        for u, (x, term) in enumerate(zip(res.exposure, res.addon_terms)):
            rows.append((f"account {a} exposure[{u}]", (f"{p}liquidity.x[{u}]",), x))
            rows.append((f"account {a} addon term[{u}]", (f"{p}liquidity.term[{u}]",), term))
        for fld, names in ACCOUNT_FIELDS.items():
            rows.append((f"account {a} {fld}", tuple(p + n for n in names), getattr(res, fld)))
    return inp, rows


def margin_equivalence(config, wasm, sym_path, cases: list[MarginCase], *, label: str,
                       cross_check: bool = False) -> Check:
    """Circuit vs :func:`~calcm.risk.fixed_margin.margin_fx` on ``cases`` (one batch each)."""
    with Timer() as t:
        sym = read_sym(sym_path)
        context = ContextInfo().value
        tally, prepared, rejected = Tally(), [], []
        for case in cases:
            try:
                prepared.append((case, *margin_expectations(config, case, context)))
            except (ValueError, ArithmeticError) as exc:  # FixedPointRangeError is a ValueError
                rejected.append(f"{case.name}: reference rejected the case: {exc}")
        witnesses = calculate_many(wasm, [inp for _, inp, _ in prepared])
        kinds: dict[str, int] = {}
        for (case, _, rows), wit in zip(prepared, witnesses):
            tally.cases += 1
            kinds[case.kind] = kinds.get(case.kind, 0) + 1
            if tally.run_problems(case.name, wit):
                for lbl, names, want in rows:
                    tally.compare(case.name, lbl, names, want, wit, sym)
        details = list(tally.mismatches) + rejected
        runner_differs = False
        if cross_check and prepared:
            details.append(_runner_cross_check(wasm, prepared[0][1], witnesses[0]))
            runner_differs = "DIFFERS" in details[-1]
    counts = {"cases": tally.cases, **{f"{k} cases": v for k, v in kinds.items()},
              "accounts": tally.cases * config.N, "signals compared": tally.compared,
              "signal kinds": len({_kind(n) for n in tally.names}),
              "not in witness (optimised away)": tally.not_in_witness,
              "mismatches": len(tally.mismatches), "cases rejected by the reference": len(rejected)}
    bad = bool(tally.mismatches) or bool(rejected) or tally.cases == 0 or runner_differs
    summary = (f"{tally.cases} batches ({counts['accounts']} accounts), {tally.compared:,} signals "
               f"bit for bit: {len(tally.mismatches)} mismatches")
    return Check("equivalence", f"margin circuit vs Python fixed point ({label})", FAIL if bad else PASS,
                 summary, counts, details, t.seconds)


def _kind(label: str) -> str:
    """``account 1 loss[3]`` -> ``loss``: what kind of signal a label names."""
    words = label.split()
    return words[-1].split("[")[0] if words else label


def _runner_cross_check(wasm, inp: dict, wit: WasmWitness) -> str:
    """The batch runner and ``snarkjs wtns calculate`` give the same witness (one case), or
    both reject it (issue 13 A3: a rejected case is reported, never raised)."""
    from ..zk.witness import WitnessRejected

    with tempfile.TemporaryDirectory(prefix="calcm-audit-xcheck-") as tmp:
        try:
            ref = calculate_witness(Path(wasm), inp, Path(tmp) / "cross-check.wtns")
        except WitnessRejected as exc:
            agree = "agrees with" if not wit.clean else "DIFFERS from"
            return (f"cross-check: snarkjs wtns calculate rejects the first case ({exc}); it {agree} the "
                    f"batch witness runner ({len(wit.asserts)} failed assertion(s) recorded)")
    same = wit.values == ref.values
    return (f"cross-check: snarkjs wtns calculate {'agrees with' if same else 'DIFFERS from'} the batch "
            f"witness runner on the first case ({len(ref.values):,} values)")


# ------------------------------------------------------------------------------ model update

def model_inputs(config, case: ModelCase, params, context: int) -> list[tuple[str, dict, object]]:
    """``[(label, circuit input, ModelExpected)]`` of one block for the circuit's kind.

    ``step``: the daily step to the block's closes; ``reval``: the revaluation at its
    prices; ``option``: every option part at ``update``'s state and prices, chained.
    """
    from ..risk.modelfx import update
    from ..zk.model_witness import part_input, reval_input, step_input

    if config.kind == "step":
        return [(case.name, *step_input(config, case.state, case.prices, params, context))]
    if config.kind == "reval":
        return [(case.name, *reval_input(config, case.state, case.prices, params, context))]
    up = update(case.state, case.prices, params)
    return [(f"{case.name} part {x.part}", *part_input(config, up.state, up.linear.prices, params, x.part, x.prev))
            for x in up.parts]


def model_equivalence(config, wasm, sym_path, params, cases: list[ModelCase], *, label: str) -> Check:
    """Circuit (``config.kind``: step, reval or option part) vs :mod:`calcm.risk.modelfx` on chained blocks."""
    with Timer() as t:
        sym = read_sym(sym_path)
        context = ContextInfo().value
        tally, prepared, rejected = Tally(), [], []
        for case in cases:
            try:
                items = model_inputs(config, case, params, context)
            except (ValueError, ArithmeticError) as exc:
                rejected.append(f"{case.name}: reference rejected the block: {exc}")
                continue
            for name, inp, expected in items:
                rows = [(f"public {n}", (f"main.{n}",), v) for n, v in zip(expected.names, expected.public)]
                rows += [(sig.removeprefix("main."), (sig,), v) for sig, v in expected.signals.items()]
                prepared.append((name, inp, rows))
        witnesses = calculate_many(wasm, [inp for _, inp, _ in prepared])
        for (name, _, rows), wit in zip(prepared, witnesses):
            tally.cases += 1
            if tally.run_problems(name, wit):
                for lbl, names, want in rows:
                    tally.compare(name, lbl, names, want, wit, sym)
    counts = {"witnesses": tally.cases, "signals compared": tally.compared,
              "not in witness (optimised away)": tally.not_in_witness,
              "mismatches": len(tally.mismatches), "blocks rejected by the reference": len(rejected)}
    bad = bool(tally.mismatches) or tally.cases == 0
    summary = (f"{tally.cases} witnesses of chained blocks, {tally.compared:,} signals bit for bit: "
               f"{len(tally.mismatches)} mismatches")
    return Check("equivalence", f"model {config.kind} circuit vs Python fixed point ({label})", FAIL if bad else PASS,
                 summary, counts, tally.mismatches + rejected, t.seconds)


# ------------------------------------------------------------------------------ fixed vs float

FLOAT_FIELDS = ("es", "addon", "mm", "im", "collateral_value", "equity")


def _compare_float(model, model_fx, q: np.ndarray, c: np.ndarray, names: list[str], tally: dict,
                   details: list[str]) -> None:
    from ..risk.fixed_margin import AccountFx, margin_fx
    from ..risk.fx_bound import fx_error_bounds
    from ..risk.margin import PortfolioMargin

    f = PortfolioMargin(model).compute(q, c)
    b = fx_error_bounds(model, q, c, model_fx)
    fx = [margin_fx(model_fx, AccountFx.encode(q[a], c[a], 0)) for a in range(len(q))]
    warn = 1 + model.params.warn_buffer
    gap = np.min(np.abs(np.stack([f.equity - f.mm, f.equity - f.im, f.equity - f.im * warn])), axis=0)
    sure = gap > b.equity + b.im * warn
    for a, name in enumerate(names):
        tally["accounts"] += 1
        for fld in FLOAT_FIELDS:
            err = abs(getattr(fx[a], fld) / MONEY_SCALE - float(getattr(f, fld)[a]))
            bound = float(getattr(b, fld)[a])
            tally["values compared"] += 1
            tally["largest error / bound"] = max(tally["largest error / bound"], err / bound if bound else 0.0)
            if err > bound:
                tally["violations"] += 1
                details.append(f"{name}: {fld}: |fixed - float| = {err:.3e} USD > bound {bound:.3e}")
        if sure[a]:
            tally["tiers compared"] += 1
            if fx[a].tier != int(f.tier[a]):
                tally["violations"] += 1
                details.append(f"{name}: tier: fixed {fx[a].tier} != float {int(f.tier[a])} "
                               f"(equity is {gap[a]:.3e} USD from a threshold, beyond the bound)")
        else:
            tally["tiers within the bound of a threshold"] += 1


def margin_float_equivalence(n_random: int = 64, seed: int = 0) -> Check:
    """The published fixed-point margin model (:func:`calcm.risk.published.published_model`, what
    every proof uses) against the float model on the bundled book and random books."""
    from ..market import load_market
    from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
    from ..risk.book import load_book
    from ..risk.model import build_risk_model
    from ..risk.published import published_model

    with Timer() as t:
        book = load_book(DEFAULT_BOOK)
        market = load_market(DEFAULT_MARKET, DEFAULT_VOLUMES)
        risk = build_risk_model(market, book)
        model = risk.margin_model
        model_fx = published_model(market, book, risk=risk).model
        tally = {"accounts": 0, "values compared": 0, "tiers compared": 0,
                 "tiers within the bound of a threshold": 0, "violations": 0, "largest error / bound": 0.0}
        details: list[str] = []
        _compare_float(model, model_fx, book.quantities(), book.collateral_amounts(),
                       [f"fixture account '{a.id}'" for a in book.accounts], tally, details)
        rng = np.random.default_rng(seed)
        n, m = model.pnl.shape[1], len(model.collateral_assets)
        # Positions of +-300 units with a quarter of them zero, collateral up to 1e4 units.
        q = rng.uniform(-300, 300, (n_random, n)) * (rng.random((n_random, n)) > 0.25)
        c = rng.uniform(0, 1e4, (n_random, m))
        _compare_float(model, model_fx, q, c, [f"random account #{a}" for a in range(n_random)], tally, details)
    tally["largest error / bound"] = round(tally["largest error / bound"], 4)
    ok = tally["violations"] == 0
    return Check("equivalence", "published fixed point vs float margin model (bundled book + random books)",
                 PASS if ok else FAIL,
                 f"{tally['accounts']} accounts, {tally['values compared']} values within the documented "
                 f"bound (docs/MODEL.md s.9): {tally['violations']} violations",
                 tally, details, t.seconds)


def model_float_equivalence(params, cases: list[ModelCase], *, label: str) -> Check:
    """The fixed-point model update against the float risk stage on the same blocks.

    P&L within :func:`calcm.risk.modelfx.pnl_error_bound` (docs/MODEL.md §8), and the
    new GARCH variance within one rounding at 2**-48 plus the return's floor at 2**-40
    times (alpha + |gamma|).
    """
    from ..fixedpoint import PRICE_SCALE, VAR_FRAC
    from ..risk.modelfx import float_update, pnl_error_bound, update

    with Timer() as t:
        tally = {"blocks": 0, "P&L values compared": 0, "variances compared": 0, "violations": 0,
                 "largest P&L error / bound": 0.0}
        details: list[str] = []
        for case in cases:
            up = update(case.state, case.prices, params)
            fl = float_update(case.state, case.prices, params)
            tally["blocks"] += 1
            bound = pnl_error_bound(up, params, case.prices)
            err = np.abs(np.array(up.model.pnl, float) - fl.pnl * PRICE_SCALE)
            tally["P&L values compared"] += err.size
            ratio = float(np.max(err / np.maximum(bound, 1e-300))) if err.size else 0.0
            tally["largest P&L error / bound"] = max(tally["largest P&L error / bound"], round(ratio, 4))
            for s, i in zip(*np.nonzero(err > bound)):
                tally["violations"] += 1
                details.append(f"{case.name}: pnl[{s}][{i}]: |fixed - float| = {err[s, i]:.1f} > bound "
                               f"{bound[s, i]:.1f} micro-USD")
            for u, a in enumerate(up.assets):
                s2 = a.sigma2 / 2**VAR_FRAC
                ag = (params.alpha[u] + abs(params.gamma[u])) / 2**32
                b = 2**-48 + 2**-39 * (abs(a.eps) / 2**40 + 2**-40) * ag + 1e-15 * fl.sigma2[u]
                tally["variances compared"] += 1
                if abs(s2 - fl.sigma2[u]) > b:
                    tally["violations"] += 1
                    details.append(f"{case.name}: sigma2[{params.assets[u]}]: |fixed - float| = "
                                   f"{abs(s2 - fl.sigma2[u]):.3e} > bound {b:.3e}")
    ok = tally["violations"] == 0 and tally["blocks"] > 0
    return Check("equivalence", f"fixed point vs float model update ({label})", PASS if ok else FAIL,
                 f"{tally['blocks']} blocks, {tally['P&L values compared']} P&L values and "
                 f"{tally['variances compared']} variances within the documented bound: "
                 f"{tally['violations']} violations", tally, details, t.seconds)


def skipped(name: str, reason: str) -> Check:
    return Check("equivalence", name, SKIP, reason)
