"""Margin-batch witnesses: circuit input from the fixed-point model, checked before proving.

:func:`batch_input` turns a :class:`~calcm.risk.fixed_margin.MarginModelFx`, the
``N`` accounts of one aligned group, the venue's :class:`~calcm.poseidon.AccountsTree`
and the batch ``context`` into the circuit's input JSON, and computes every
public signal (and per-account ES, add-on, IM, collateral value, equity, tier)
with the Python reference :func:`~calcm.risk.fixed_margin.margin_fx`. Values out
of the fixed-point range raise :class:`~calcm.fixedpoint.FixedPointRangeError`
here, before any tool runs.

:func:`compute_checked_witness` then runs the circuit's witness calculator
(``snarkjs wtns calculate``) and compares the witness with the reference
through the ``.sym`` map; any difference raises :class:`WitnessMismatch` and
nothing is proven.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import atomic
from ..fixedpoint import FIELD_PRIME, FixedPointRangeError, to_field
from ..risk.fixed_margin import AccountFx, MarginModelFx, MarginResultFx, empty_account, margin_fx
from ..poseidon import AccountsTree, account_commitment, lin_commitment, opt_commitment
from .config import PUBLIC_SIGNALS, CircuitConfig, check_fits
from .toolchain import ToolchainError, snarkjs
from .wtns import Witness, read_sym, read_wtns

#: Salts are secrets below 2**248 (calcm.risk.book), so they are field elements as they are.
SALT_BITS = 248
#: Per-account outputs of AccountMargin compared with the reference (signal -> result field).
ACCOUNT_SIGNALS = {"es": "es", "addon": "addon", "mm": "mm", "im": "im",
                   "collateralValue": "collateral_value", "equity": "equity", "tier": "tier"}


class WitnessMismatch(RuntimeError):
    """The circuit's witness disagrees with the Python reference: refuse to prove."""


class WitnessRejected(RuntimeError):
    """The witness calculator rejected the input (a circuit assertion failed)."""


@dataclass(frozen=True)
class BatchExpected:
    """What the reference says the batch proves."""

    group: int
    public: tuple[int, int, int, int, int]     # PUBLIC_SIGNALS order
    results: tuple[MarginResultFx, ...]        # one per account of the group

    @property
    def tiers(self) -> tuple[int, ...]:
        return tuple(r.tier for r in self.results)

    def public_dict(self) -> dict[str, int]:
        return dict(zip(PUBLIC_SIGNALS, self.public))


#: packedResult layout (docs/PROVING.md section 6; MarginRegistry checks the same):
#: group in bits [0, 32), the batch size N in bits [32, 40), tier a in bits [40 + 2a, 42 + 2a).
RESULT_GROUP_BITS = 32
RESULT_SHAPE_BITS = 8
RESULT_TIERS_SHIFT = RESULT_GROUP_BITS + RESULT_SHAPE_BITS


def pack_result(group: int, tiers: Sequence[int]) -> int:
    """``group + 2**32 * N + 2**40 * sum_a tier[a] * 4**a`` with ``N = len(tiers)`` (the batch
    size binds the proof to the registry's groupSize, issue 13 L1). The one implementation:
    :mod:`calcm.chain.encoding` re-exports it."""
    if not 0 <= group < 2**RESULT_GROUP_BITS:
        raise ValueError(f"group {group} does not fit {RESULT_GROUP_BITS} bits")
    if not 0 < len(tiers) < 2**RESULT_SHAPE_BITS:
        raise ValueError(f"batch size {len(tiers)} does not fit {RESULT_SHAPE_BITS} bits")
    if any(t not in (0, 1, 2, 3) for t in tiers):
        raise ValueError(f"tiers must be 0..3, got {tiers}")
    return (group + 2**RESULT_GROUP_BITS * len(tiers)
            + 2**RESULT_TIERS_SHIFT * sum(t * 4**a for a, t in enumerate(tiers)))


def unpack_result(packed: int, n_accounts: int) -> tuple[int, list[int]]:
    """Inverse of :func:`pack_result` for a batch of ``n_accounts``: ``(group, tiers)``.

    Raises ValueError where the registry reverts: an encoded N other than ``n_accounts``
    (``WrongShape``) or bits above the N tiers (``ResultOutOfRange``).
    """
    group = packed % 2**RESULT_GROUP_BITS
    n = (packed >> RESULT_GROUP_BITS) % 2**RESULT_SHAPE_BITS
    if n != n_accounts:
        raise ValueError(f"packedResult encodes batch size {n}, expected {n_accounts}")
    rest = packed >> RESULT_TIERS_SHIFT
    if rest >> (2 * n_accounts):
        raise ValueError(f"packedResult has bits above {n_accounts} tiers")
    return group, [(rest >> (2 * a)) & 3 for a in range(n_accounts)]


def check_model_shape(model: MarginModelFx, config: CircuitConfig) -> None:
    """The model's structure is the circuit's (else a one-line InputError naming the limit)."""
    check_fits(model, config)


def venue_tree(accounts: Sequence[AccountFx], config: CircuitConfig) -> AccountsTree:
    """The venue's accounts tree: account ``i`` at leaf ``i``.

    The last used group is filled with the empty account's commitment so that
    it can be proven (a 0 leaf has no opening); leaves of wholly unused groups
    stay 0.
    """
    if len(accounts) > config.capacity:
        raise ValueError(f"{len(accounts)} accounts do not fit the circuit's tree "
                         f"(depth {config.D}: {config.capacity} leaves)")
    leaves = [account_commitment(a) for a in accounts]
    pad = -len(leaves) % config.N
    leaves += [account_commitment(empty_account(config.n, config.m))] * pad
    return AccountsTree(leaves, config.D)


def group_accounts(accounts: Sequence[AccountFx], group: int, config: CircuitConfig) -> list[AccountFx]:
    """The ``N`` accounts of group ``group`` (padded with the empty account)."""
    chunk = list(accounts[group * config.N:(group + 1) * config.N])
    return chunk + [empty_account(config.n, config.m)] * (config.N - len(chunk))


def _check_salt(acc: AccountFx, what: str) -> None:
    if not 0 <= acc.salt < 2**SALT_BITS:
        raise FixedPointRangeError(f"{what} salt", acc.salt, 0, 2**SALT_BITS)


def _fe(v: int) -> str:
    return str(to_field(v))


def batch_input(config: CircuitConfig, model: MarginModelFx, accounts: Sequence[AccountFx],
                group: int, tree: AccountsTree, context: int,
                names: Sequence[str] | None = None,
                commitments: tuple[int, int] | None = None) -> tuple[dict, BatchExpected]:
    """Circuit input JSON for one group, and the reference's expected outputs.

    ``accounts`` are the group's ``N`` accounts in leaf order; ``names`` (optional)
    label them in errors. Raises :class:`FixedPointRangeError` for any value out
    of range (nothing is written or run), ``ValueError`` for shape or tree
    mismatches.
    """
    check_model_shape(model, config)
    if len(accounts) != config.N:
        raise ValueError(f"a batch has {config.N} accounts, got {len(accounts)}")
    if tree.depth != config.D:
        raise ValueError(f"tree depth {tree.depth} != circuit depth {config.D}")
    if not 0 <= context < FIELD_PRIME:
        raise ValueError("context must be a field element")
    names = list(names) if names is not None else [f"account #{group * config.N + a}" for a in range(config.N)]
    results = []
    for a, acc in enumerate(accounts):
        what = names[a]
        if len(acc.qty) != config.n or len(acc.collateral) != config.m:
            raise ValueError(f"{what}: shape ({len(acc.qty)}, {len(acc.collateral)}) != ({config.n}, {config.m})")
        _check_salt(acc, what)
        try:
            results.append(margin_fx(model, acc))
        except FixedPointRangeError as exc:
            raise FixedPointRangeError(f"{what}: {exc.what}", exc.value, exc.low, exc.high) from None
    if commitments is None:
        commitments = (lin_commitment(model), opt_commitment(model))
    leaves = tree.group_leaves(group, config.N)
    for a, acc in enumerate(accounts):
        if account_commitment(acc) != leaves[a]:
            raise ValueError(f"{names[a]}: commitment is not leaf {group * config.N + a} of the tree")
    expected = BatchExpected(
        group,
        (tree.root, commitments[0], commitments[1], context, pack_result(group, [r.tier for r in results])),
        tuple(results))
    S = model.n_scenarios
    inp = {
        **{k: str(v) for k, v in expected.public_dict().items()},
        **model_input(model),
        "salt": [str(acc.salt) for acc in accounts],
        "qty": [[_fe(v) for v in acc.qty] for acc in accounts],
        "collateral": [[_fe(v) for v in acc.collateral] for acc in accounts],
        "inTail": [[str(b) for b in r.tail_bits] for r in results],
        "tailStep": [["1" if s <= r.tail_last else "0" for s in range(S)] for r in results],
        "threshold": [_fe(r.threshold) for r in results],
        "group": str(group),
        "siblings": [str(v) for v in tree.group_path(group, config.N)],
    }
    return inp, expected


def model_input(model: MarginModelFx) -> dict:
    """The circuit's private model inputs (field elements as decimal strings)."""
    S = model.n_scenarios
    opt = model.opt if model.n_options else ((),) * S
    return {
        "price": [_fe(v) for v in model.price],
        "lin": [[_fe(v) for v in row] for row in model.lin],
        "opt": [[_fe(v) for v in row] for row in opt],
        "optMark": [_fe(v) for v in model.opt_mark],
        "optExpo": [_fe(v) for v in model.opt_expo],
        "haircutBps": [_fe(v) for v in model.haircut_bps],
        "adv": [_fe(v) for v in model.adv],
        "weightBps": [_fe(v) for v in model.liquidity_weight_bps],
        "perpMove": [_fe(v) for v in model.perp_move],
        "imBufferBps": _fe(model.im_buffer_bps),
        "warnBufferBps": _fe(model.warn_buffer_bps),
    }


def calculate_witness(wasm: Path, inp: dict, wtns_path: Path) -> Witness:
    """Run the wasm witness calculator (``snarkjs wtns calculate``) on ``inp``."""
    wtns_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=wtns_path.parent, prefix=".input.") as tmp:
        in_path = Path(tmp) / "input.json"
        in_path.write_text(json.dumps(inp))
        out_tmp = Path(tmp) / "witness.wtns"
        try:
            snarkjs("wtns", "calculate", wasm, in_path, out_tmp)
        except ToolchainError as exc:
            raise WitnessRejected(f"the circuit rejected the input: {_assert_line(exc.output)}") from None
        atomic.write_bytes(wtns_path, out_tmp.read_bytes())
    return read_wtns(wtns_path)


def _assert_line(output: str) -> str:
    for line in output.splitlines():
        if "Assert Failed" in line or "Error in template" in line or "Not enough values" in line:
            return line.strip()
    return output.strip().splitlines()[-1] if output.strip() else "unknown error"


def compare_witness(wit: Witness, sym: dict[str, int], expected: BatchExpected) -> list[str]:
    """Every public signal and each surviving per-account output vs the reference.

    Returns the names compared; raises :class:`WitnessMismatch` on the first
    difference (naming the signal and both values).
    """
    compared = []

    def check(name: str, want: int) -> None:
        idx = sym.get(name)
        if idx is None:
            return
        got = wit[idx]
        if got != want % FIELD_PRIME:
            raise WitnessMismatch(f"{name}: circuit {got} != reference {want % FIELD_PRIME}")
        compared.append(name)

    for i, (name, want) in enumerate(zip(PUBLIC_SIGNALS, expected.public)):
        if sym.get(f"main.{name}") != i + 1:
            raise WitnessMismatch(f"public signal {name} is not witness index {i + 1}")
        check(f"main.{name}", want)
    for a, res in enumerate(expected.results):
        for sig, fld in ACCOUNT_SIGNALS.items():
            check(f"main.margin[{a}].{sig}", getattr(res, fld))
    # Tiers always reach the verifier through packedResult (compared above); --O2 may fold a
    # tier signal into it, but ES and IM are products and range-checked, so they survive.
    missing = [s for s in ("es", "im") if f"main.margin[0].{s}" not in compared]
    if missing:
        raise WitnessMismatch(f"key intermediates {missing} are not in the witness (.sym)")
    return compared


def compute_checked_witness(wasm: Path, sym_path: Path, inp: dict, expected: BatchExpected,
                            wtns_path: Path) -> tuple[Witness, list[str]]:
    """Calculate the witness and refuse (raise) unless it matches the reference."""
    wit = calculate_witness(wasm, inp, wtns_path)
    compared = compare_witness(wit, read_sym(sym_path), expected)
    return wit, compared


def wtns_check(r1cs: Path, wtns: Path) -> bool:
    """``snarkjs wtns check``: does the witness satisfy every R1CS constraint?"""
    res = snarkjs("wtns", "check", r1cs, wtns, check=False)
    out = res.stdout + res.stderr
    if "WITNESS IS CORRECT" in out:
        return True
    if "WITNESS IS NOT CORRECT" in out:
        return False
    raise ToolchainError(res.cmd, None, out)


def compile_for_witness(config: CircuitConfig, optimize: str = "--O1") -> Path:
    """Compile ``config`` to wasm + sym only (no r1cs), once per source hash, under the cache.

    For witness-level checks of big shapes (the whole bundled book): skipping the
    r1cs and using ``--O1`` keeps circom2's compile time down; the witness and its
    ``.sym`` map are the same circuit's. Returns the directory (``main.sym``,
    ``main_js/main.wasm``). Compiled beside its target and renamed into place.
    """
    from ..paths import cache_dir
    from .config import source_hash
    from .setup import compiled_once
    from .toolchain import circom_compile

    def make(tmp: Path) -> dict:
        main = tmp / "main.circom"
        main.write_text(config.main_source())
        res = circom_compile(main, tmp, optimize=optimize, r1cs=False)
        return {"config": config.name, "optimize": optimize, "seconds": round(res.seconds, 1)}

    return compiled_once(cache_dir() / "compile" /
                         f"wasm-{config.name}-{source_hash(config)[:16]}{optimize.strip('-')}", make)
