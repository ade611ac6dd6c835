"""A v2 test world on a real chain: the registry, three feeds with dated rounds, and
PLACEHOLDER circuits (real Groth16 proofs, each binding its public signals by squaring) for
the four verifiers: the registry's logic (signal order, day stepping, option chaining,
model versions, records) runs on real proofs with arbitrary transitions until the v2
circuits exist. Never a Solidity mock verifier.
"""
from __future__ import annotations

from py_ecc import bn128

from calcm.chain import encoding, placeholder
from calcm.chain.deployment import ModelVerifiers, deploy
from calcm.chain.evm import is_pyevm, warp
import pytest

from calcm.chain.registry import RegistryRevert, Roles

N_ASSETS = 3
PRICES = [60_000.0, 3_000.0, 1.0]
DECIMALS = 8
PARAM_HASH = 0xC0FFEE
GENESIS = 0x6E6E51
MAX_AGE = 16
N_PARTS = 3
GROUP_SIZE = 2
#: Timelock delay of the test worlds (seconds): short, so governance calls after genesis
#: (governance.enact) barely move the model's clock.
TIMELOCK_DELAY = 60
DAY = encoding.DAY
#: Placeholder tags: a distinct circuit (and keys) per verifier, even at equal arity.
TAGS = {"margin": 1, "step": 2, "reval": 3, "option": 4}


def answer(usd: float) -> int:
    return round(usd * 10**DECIMALS)


class World:
    """A deployed v3 registry (genesis state at day ``d0``, the chain at 01:00 of ``d0 + 1``;
    genesis finalized to a timelock of TIMELOCK_DELAY seconds), four registered accounts in
    two groups of two, and the root posted. Roles: account 0 governs (the timelock's
    proposer and executor), 1 venue, 2 keeper, 3 outsider, 4..7 owners, 8 guardian."""

    def __init__(self, w3, builds: dict, arts: dict, n_parts: int = N_PARTS, genesis=None,
                 finalize: bool = True):
        """``genesis``: the genesis state commitment as a function of ``d0`` (default GENESIS);
        ``finalize``: end genesis at deployment (else the deployer stays admin)."""
        self.w3, self.builds, self.arts, self.n_parts = w3, builds, arts, n_parts
        self.finalize = finalize
        self.genesis = genesis or (lambda d0: GENESIS)
        acc = w3.eth.accounts
        self.roles = Roles(acc[0], acc[1], (acc[2],), guardian=acc[8])
        self.outsider = acc[3]
        self.owners = acc[4:8]
        self._snap = None

    def setup(self):
        now = self.w3.eth.get_block("latest").timestamp
        self.d0 = now // DAY + 2                        # genesis close: day d0
        t = (self.d0 + 1) * DAY                         # 00:00 of d0 + 1
        warp(self.w3, t + 3600)
        mv = ModelVerifiers(self.arts["step"], self.arts["reval"],
                            self.arts["option"] if self.n_parts else None)
        self.reg, self.dep = deploy(
            self.w3, self.arts["margin"], model_verifiers=mv, n_parts=self.n_parts,
            n_assets=N_ASSETS, group_size=GROUP_SIZE, roles=self.roles, initial_prices=PRICES,
            prices_at=t + 60, param_hash=PARAM_HASH, genesis_state=self.genesis(self.d0),
            genesis_day=self.d0, max_age=MAX_AGE, timelock_delay=TIMELOCK_DELAY,
            finalize=self.finalize)
        from calcm.chain.contracts import PRICE_FEED, compile_registry
        feed_abi = compile_registry()[PRICE_FEED].abi
        self.feeds = [self.w3.eth.contract(address=a, abi=feed_abi) for a in self.dep.price_feeds]
        for leaf, owner in enumerate(self.owners):
            self.reg.register_account(owner, leaf)
        self.root = 0xA11CE
        self.reg.post_accounts_root(self.root)
        return self

    # feeds
    def post(self, asset: int, usd: float, ts: int):
        """Publish a round of ``asset`` dated ``ts``; returns its round id."""
        f = self.feeds[asset]
        self.reg.tx.send(f.functions.setRoundData(answer(usd), ts), self.roles.governance)
        return f.functions.latestRound().call()

    def post_all(self, usds, ts) -> list[int]:
        return [self.post(i, p, ts) for i, p in enumerate(usds)]

    # proofs (placeholders: any signals)
    def prove(self, kind: str, signals: list[int]) -> dict:
        proof, public = placeholder.prove(self.builds[kind], signals)
        assert public == signals
        return proof

    def step(self, rounds, new_state, lin, block=None, prev=None, prices=None):
        block = self.w3.eth.block_number if block is None else block
        prev = self.reg.model().state if prev is None else prev
        if prices is None:
            try:
                prices = self.reg.packed_close_prices(rounds)
            except RegistryRevert:        # let the step itself name the rejection
                prices = [0] * encoding.price_signal_count(len(rounds))
        packed = prices
        proof = self.prove("step", [prev, new_state, lin, PARAM_HASH, self.reg.context(block)]
                           + packed)
        return self.reg.submit_model_step(proof, block, rounds, new_state, lin)

    def reval(self, lin, block=None, state=None):
        block = self.w3.eth.block_number if block is None else block
        state = self.reg.model().state if state is None else state
        proof = self.prove("reval", [state, lin, PARAM_HASH, self.reg.context(block)]
                           + self.reg.packed_prices())
        return self.reg.submit_model_reval(proof, block, lin)

    def option_part(self, part, nxt, prev=None, state=None, prices=None):
        p = self.reg.pending_options()
        state = self.reg.model().state if state is None else state
        prev = (0 if part == 0 else p["sponge"]) if prev is None else prev
        if prices is None:
            prices = p["packed_prices"] if part and p["packed_prices"] else self.reg.packed_prices()
        proof = self.prove("option", [state, prev, nxt, PARAM_HASH, part] + prices)
        return self.reg.submit_option_part(proof, part, nxt)

    def options(self, base=0x0971):
        """A complete option revaluation at the current state; returns optCommitment."""
        for j in range(self.n_parts):
            self.option_part(j, base + j)
        return base + self.n_parts - 1

    def batch(self, group, tiers, block=None, version=None, lin=None, opt=None):
        m = self.reg.model()
        block = self.w3.eth.block_number if block is None else block
        packed = encoding.pack_result(group, tiers)
        lin = m.lin_commitment if lin is None else lin
        opt = (m.opt_commitment if self.n_parts else 0) if opt is None else opt
        proof = self.prove("margin", [self.root, lin, opt, self.reg.context(block), packed])
        return proof, block, (m.version if version is None else version), group, packed

    def submit(self, b, **kw):
        proof, block, version, group, packed = b
        return self.reg.submit_margin_batch(proof, block, version, group, packed, **kw)

    # chain state
    def snapshot(self):
        if is_pyevm(self.w3):
            self._snap = self.w3.provider.ethereum_tester.take_snapshot()
        else:
            self._snap = self.w3.provider.make_request("evm_snapshot", [])["result"]

    def revert(self):
        if is_pyevm(self.w3):
            self.w3.provider.ethereum_tester.revert_to_snapshot(self._snap)
        else:
            assert self.w3.provider.make_request("evm_revert", [self._snap])["result"]
        self.snapshot()  # anvil consumes a snapshot when reverting to it


def rerandomize(proof: dict, s: int) -> dict:
    """A different valid Groth16 proof of the same statement: (A/s, s*B, C).

    e(A/s, sB) = e(A, B), so the verification equation still holds; this is why a
    proof hash cannot stop replays.
    """
    n = bn128.curve_order
    a = (bn128.FQ(int(proof["pi_a"][0])), bn128.FQ(int(proof["pi_a"][1])))
    b = (bn128.FQ2([int(proof["pi_b"][0][0]), int(proof["pi_b"][0][1])]),
         bn128.FQ2([int(proof["pi_b"][1][0]), int(proof["pi_b"][1][1])]))
    a2 = bn128.multiply(a, pow(s, -1, n))
    b2 = bn128.multiply(b, s)
    return {**proof,
            "pi_a": [str(a2[0].n), str(a2[1].n), "1"],
            "pi_b": [[str(b2[0].coeffs[0].n), str(b2[0].coeffs[1].n)],
                     [str(b2[1].coeffs[0].n), str(b2[1].coeffs[1].n)], ["1", "0"]]}


def rejects(name: str):
    """``pytest.raises`` for the registry's custom error ``MarginRegistry__<name>``."""
    return pytest.raises(RegistryRevert, match=f"^MarginRegistry__{name}")
