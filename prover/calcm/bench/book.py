"""``calcm bench book``: the whole book proven at the published parameters, measured and cross-checked.

One run (issue 12, item 7):

1. ``calcm margin``'s own computation (:func:`calcm.risk.report.margin_report`) on the bundled
   market and book (or a synthetic book of ``accounts`` accounts over the bundled instruments,
   :mod:`calcm.bench.synthetic_book`): the published fixed-point MM, IM, equity and tier of
   every account, and the published model (full scenario set, ``k`` from the ES level).
2. The margin circuit of that model's exact structure (:func:`calcm.zk.config.config_for_model`),
   set up once per source hash in dev mode (groth16py, ptau-free, INSECURE: labelled) and
   timed (``setup_seconds`` is the recorded setup time of the cached build when it is reused).
3. The proving key checked and loaded first, with the circuit's symbol map (``key_load_seconds``,
   once per process), then every group proven with the chosen backend on ``workers`` threads
   (``prove_seconds``: the steady state a keeper with the key in memory sees); one group again
   with snarkjs on the same zkey when a snarkjs zkey of the shape exists
   (``snarkjs_prove_seconds``, else null).
4. Every proof verified by snarkjs, by the py_ecc verifier and by the generated Solidity
   verifier (a transaction per group on an embedded anvil: ``verify_gas`` and the tx hash).
5. ``accounts_detail``: per account, ``calcm margin``'s numbers next to the proven ones (MM, IM,
   equity read from the checked witness; the tier decoded from the proof's public
   ``packedResult``); ``matches_margin`` is computed from those rows by :func:`compare_rows`.

The JSON keys are the issue's; figures are measured in the run, never extrapolated.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

#: Fields compared between ``calcm margin`` and the proof (raw fixed-point integers).
COMPARED = ("mm", "im", "equity", "tier")


@dataclass(frozen=True)
class BookBenchSettings:
    """What ``calcm bench book`` runs (see the module docstring)."""

    accounts: int | None = None        # None: the bundled book; N: a synthetic book of N accounts
    seed: int = 0
    group_size: int = 4                # accounts per margin batch (a power of two)
    depth: int | None = None           # accounts-tree depth (default: the config's)
    backend: str = "auto"
    workers: int = 2                   # groups proven at once (threads sharing one loaded key)
    chain: bool = True                 # Solidity verification on an embedded anvil
    snarkjs: bool = True               # time snarkjs on the same zkey where one exists
    out_dir: Path | None = None


def compare_rows(rows: Sequence[dict]) -> bool:
    """True when every row's proven values equal ``calcm margin``'s (all of :data:`COMPARED`).

    A row is :func:`account_row`'s; a missing proven value is a mismatch.
    """
    return bool(rows) and all(r["proven"].get(f) is not None and r["proven"][f] == r["margin"][f]
                              for r in rows for f in COMPARED)


def account_row(name: str, leaf: int, group: int, published, proven: dict, proof_sha256: str | None,
                tx_hash: str | None) -> dict:
    """One ``accounts_detail`` row: ``calcm margin``'s fixed-point result (``published``, a
    :class:`~calcm.risk.fixed_margin.MarginResultFx`) beside the proven values (``proven``:
    mm, im, equity from the circuit's witness; tier from the proof's public ``packedResult``
    or the registry record)."""
    return {"account": name, "leaf": leaf, "group": group,
            "margin": {"mm": published.mm, "im": published.im, "equity": published.equity,
                       "tier": published.tier},
            "proven": {f: proven.get(f) for f in COMPARED},
            "proof_sha256": proof_sha256, "tx_hash": tx_hash}


def _book_and_market(s: BookBenchSettings):
    from ..market import load_market
    from ..paths import DEFAULT_BOOK, DEFAULT_MARKET, DEFAULT_VOLUMES
    from ..risk.book import load_book
    from .synthetic_book import synthetic_accounts

    market = load_market(DEFAULT_MARKET, DEFAULT_VOLUMES)
    book = load_book(DEFAULT_BOOK)
    if s.accounts is not None:
        last = market.closes[-1]
        prices = {a: float(last[market.index(a)]) for a in market.assets}
        book = synthetic_accounts(book, prices, s.accounts, s.seed)
    return market, book


def witness_values(wasm: Path, sym_path: Path, config, model, accounts, group, tree, context: int) -> list[dict]:
    """MM, IM, equity and tier of each account of a group, read from the circuit's own witness
    (a value the compiler folded away is None; the benchmark takes the tier from the proof).

    The witness is recomputed from the same input the proof used (the proof directory keeps
    no witness: it would reveal positions), through the circuit's wasm and ``.sym`` map.
    """
    import tempfile

    from ..poseidon import lin_commitment, opt_commitment
    from ..zk.prove import cached_sym
    from ..zk.witness import batch_input, calculate_witness

    inp, _ = batch_input(config, model, accounts, group, tree, context, None,
                         (lin_commitment(model), opt_commitment(model)))
    with tempfile.TemporaryDirectory(prefix=".bench-wtns.") as tmp:
        wit = calculate_witness(wasm, inp, Path(tmp) / "w.wtns")
    sym = cached_sym(sym_path)
    out = []
    for a in range(config.N):
        val = {sig: (None if sym.get(f"main.margin[{a}].{sig}") is None
                     else _signed(wit[sym[f"main.margin[{a}].{sig}"]]))
               for sig in ("es", "addon", "mm", "im", "equity", "tier")}
        if val["mm"] is None and None not in (val["es"], val["addon"]):
            # --O2 folds the linear `mm <== es + addon` away; the circuit's own es and addon give it.
            val["mm"] = val["es"] + val["addon"]
        out.append({f: val[f] for f in ("mm", "im", "equity", "tier")})
    return out


def _signed(v: int) -> int:
    from ..fixedpoint import FIELD_PRIME
    return v - FIELD_PRIME if v > FIELD_PRIME // 2 else v


def bench_book(s: BookBenchSettings, say: Callable[[str], None] = lambda m: None) -> dict:
    """Run the benchmark (see the module docstring); returns the JSON document."""
    import shutil
    import tempfile

    from ..fixedpoint import MONEY_SCALE
    from ..risk.fixed_margin import encode_book_accounts
    from ..risk.report import margin_report
    from ..zk.artifacts import read as read_proof
    from ..zk.backend import proof_sha256
    from ..zk.config import DEFAULT_D, config_for_model
    from ..zk.prove import ContextInfo, cached_sym, prove_accounts, warm_key
    from ..zk.setup import build_cache_dir, setup
    from ..zk.witness import group_accounts, unpack_result, venue_tree

    t_all = time.perf_counter()
    market, book = _book_and_market(s)
    say(f"calcm margin on {book.source}: {len(book.accounts)} accounts, {len(book.instruments)} instruments")
    rep = margin_report(market, book)
    pub, model = rep.published, rep.published.model
    accounts = encode_book_accounts(book)
    names = [a.id for a in book.accounts]
    depth = s.depth or max(DEFAULT_D, math.ceil(math.log2(max(2, len(accounts)))))
    config = config_for_model(model, s.group_size, depth)

    say(f"margin circuit {config.name}: setting up (dev mode, cached by source hash)")
    t0 = time.perf_counter()
    build, reused = setup(config, build_cache_dir(config).with_name(build_cache_dir(config).name + "-dev"),
                          mode="dev")
    # A reused build reports the setup it recorded when it was made (compile + key generation).
    setup_seconds = (round(sum(build.manifest.get("seconds", {}).values()), 2) if reused
                     else round(time.perf_counter() - t0, 2))

    chain = _ChainCheck(build) if s.chain else None
    ctx = chain.context() if chain else ContextInfo()
    out = Path(s.out_dir) if s.out_dir else Path(tempfile.mkdtemp(prefix="calcm-bench-book-"))
    say(f"loading the proving key ({s.backend})")
    t1 = time.perf_counter()
    warm_key(build, s.backend)
    cached_sym(build.sym)
    key_load_seconds = round(time.perf_counter() - t1, 2)
    say(f"proving {len(accounts)} accounts in groups of {config.N} with backend {s.backend} "
        f"on {s.workers} worker(s)")
    t1 = time.perf_counter()
    summary = prove_accounts(build, model, accounts, names, out / "proofs", ctx, backend=s.backend,
                             workers=s.workers)
    prove_seconds = round(time.perf_counter() - t1, 2)

    tree = venue_tree(accounts, config)
    rows, verifiers = [], {"snarkjs": True, "py_ecc": True, "solidity": None if chain is None else True}
    for g, gname in enumerate(summary["groups"]):
        d = out / "proofs" / gname
        art = read_proof(d)
        vres = _verify(build, d)
        verifiers["snarkjs"] &= vres.snarkjs_ok
        verifiers["py_ecc"] &= vres.pyecc_ok
        tx = chain.verify(art.proof, art.public) if chain else None
        if chain:
            verifiers["solidity"] &= tx["ok"]
        _, tiers = unpack_result(art.public[-1], config.N)
        members = group_accounts(accounts, g, config)
        wvals = witness_values(build.wasm, build.sym, config, model, members, g, tree, ctx.value)
        for a in range(config.N):
            leaf = g * config.N + a
            if leaf >= len(accounts):
                break
            rows.append(account_row(names[leaf], leaf, g, rep.fixed[leaf], {**wvals[a], "tier": tiers[a]},
                                    proof_sha256(art.proof), tx["tx_hash"] if tx else None))
    snark_s = _snarkjs_seconds(build, model, accounts, names, ctx, out) if s.snarkjs else None
    constraints = build.manifest["r1cs"]["constraints"]
    n_opt = sum(1 for k in config.kinds if k >= 2)
    doc = {
        "kind": "calcm-bench-book",
        "book": book.source,
        "accounts": len(accounts), "instruments": config.n, "underlyings": config.U,
        "options": n_opt, "collateral": config.m, "scenarios": config.S,
        "es_level": rep.risk.params.es_level, "k_tail": config.k,
        "group_size": config.N, "groups": len(summary["groups"]), "tree_depth": config.D,
        "constraints": constraints,
        "constraints_total": constraints * len(summary["groups"]),
        "constraints_per_account_scenario": round(constraints / (config.N * config.S), 2),
        "setup_seconds": setup_seconds, "setup_reused": reused,
        "setup_detail_seconds": build.manifest.get("seconds"),
        "setup_security": build.security,
        "key_load_seconds": key_load_seconds,
        "prove_seconds": prove_seconds,
        "prove_seconds_per_group": round(prove_seconds / max(1, len(summary["groups"])), 2),
        "workers": s.workers,
        "batch_seconds_sum": summary["seconds"],
        "snarkjs_prove_seconds": snark_s,
        "verify_gas": chain.gas if chain else None,
        "backend": _backend_name(s.backend),
        "verifiers": verifiers,
        "matches_margin": compare_rows(rows),
        "published": pub.summary(),
        "money_scale": MONEY_SCALE,
        "accounts_detail": [_json_row(r) for r in rows],
        "total_seconds": round(time.perf_counter() - t_all, 2),
    }
    if chain:
        chain.close()
    if s.out_dir is None:
        shutil.rmtree(out, ignore_errors=True)
    return doc


def _json_row(r: dict) -> dict:
    """Fixed-point integers as strings (JSON numbers lose precision past 2**53)."""
    conv = lambda d: {k: (str(v) if isinstance(v, int) and k != "tier" else v) for k, v in d.items()}
    return {**r, "margin": conv(r["margin"]), "proven": conv(r["proven"])}


def _backend_name(name: str) -> str:
    from ..zk.backend import get_backend
    return get_backend(name).name


def _verify(build, d: Path):
    from ..zk.verify import verify_pinned
    (res,) = verify_pinned(d, build=build.dir)
    return res


def _snarkjs_seconds(build, model, accounts, names, ctx, out: Path) -> float | None:
    """snarkjs on the same zkey and group, in this run; None where the build has no snarkjs zkey."""
    if build.mode != "ceremony":
        return None
    import tempfile

    from ..zk.prove import prove_accounts
    config = build.config
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        prove_accounts(build, model, accounts[:config.N], names[:config.N], Path(tmp) / "p", ctx,
                       backend="snarkjs")
    return round(time.perf_counter() - t, 2)


class _ChainCheck:
    """The build's generated Solidity verifier on an embedded anvil: one transaction per proof."""

    def __init__(self, build):
        from ..chain.anvil import Anvil
        from ..chain.contracts import compile_verifier
        from ..chain.evm import http_web3

        self.node = Anvil().start()
        try:
            self.w3 = http_web3(self.node.url)
            art = compile_verifier(build.verifier_sol)
            acct = self.w3.eth.accounts[0]
            c = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
            rcpt = self.w3.eth.wait_for_transaction_receipt(c.constructor().transact({"from": acct}))
            self.contract = self.w3.eth.contract(address=rcpt.contractAddress, abi=art.abi)
            self.sender = acct
            self.gas: int | None = None
        except BaseException:
            self.node.stop()
            raise

    def context(self):
        from ..zk.prove import ContextInfo
        return ContextInfo(int(self.w3.eth.chain_id), self.contract.address, int(self.w3.eth.block_number))

    def verify(self, proof: dict, public: Sequence[int]) -> dict:
        """``verifyProof`` as a transaction with a fixed, generous gas limit (never an estimate:
        the verifier returns false when a precompile runs out of gas)."""
        from ..chain.encoding import solidity_proof
        a, b, c = solidity_proof(proof)
        fn = self.contract.functions.verifyProof(a, b, c, [int(x) for x in public])
        ok = bool(fn.call({"from": self.sender, "gas": 2_000_000}))
        tx = fn.transact({"from": self.sender, "gas": 2_000_000})
        rcpt = self.w3.eth.wait_for_transaction_receipt(tx)
        self.gas = int(rcpt.gasUsed)
        return {"ok": ok and rcpt.status == 1, "tx_hash": tx.hex() if hasattr(tx, "hex") else str(tx),
                "gas": self.gas}

    def close(self) -> None:
        self.node.stop()
