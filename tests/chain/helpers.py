"""A test world on a real chain: registry, accounts with known tiers, real proofs."""
from __future__ import annotations

from py_ecc import bn128

from calcm.chain import placeholder, sample
from calcm.chain.evm import is_pyevm
from calcm.chain.registry import Roles, deploy
from calcm.zk.poseidon import model_commitment

N_ASSETS = 3
PRICES = [60_000.0, 3_000.0, 1.0]
PARAM_HASH = 0xC0FFEE
GENESIS = 0x6E6E51
MAX_AGE = 16
#: Leaf -> account kind; leaves 0, 1 form group 0 and leaves 2, 3 group 1 (N = 2).
KINDS = ["liquidatable", "healthy", "healthy", "liquidatable"]


class World:
    """A deployed registry and a venue book of four accounts with known tiers."""

    def __init__(self, w3, build, margin_art, model_b, model_art):
        self.w3, self.build, self.margin_art = w3, build, margin_art
        self.model_b, self.model_art = model_b, model_art
        c = build.config
        self.model = sample.sample_model(c.S, c.n, c.U, c.m, c.k)
        self.accounts = [sample.sample_account(k, c.n, c.m, 7000 + i) for i, k in enumerate(KINDS)]
        acc = w3.eth.accounts
        self.roles = Roles(acc[0], acc[1], (acc[2],))
        self.outsider = acc[3]
        self.owners = acc[4:4 + len(KINDS)]
        self._snap = None

    @property
    def scenario(self) -> int:
        return model_commitment(self.model)

    def setup(self):
        self.reg, self.dep = deploy(
            self.w3, self.margin_art, model_verifier=self.model_art, n_assets=N_ASSETS,
            group_size=self.build.config.N, roles=self.roles, initial_prices=PRICES,
            param_hash=PARAM_HASH, genesis_state=GENESIS, max_age=MAX_AGE)
        for leaf, owner in enumerate(self.owners):
            self.reg.register_account(owner, leaf)
        self.root_receipt = self.reg.post_accounts_root(self.root(), list(range(len(KINDS))))
        self.block = self.w3.eth.block_number
        self.model_receipt = self.model_update(self.block, GENESIS + 1)
        return self

    def root(self, accounts=None) -> int:
        return sample.accounts_root(self.build, accounts or self.accounts)

    # proofs
    def model_proof(self, block, prev, new, scenario=None, prices=None):
        sig = [prev, new, self.scenario if scenario is None else scenario, PARAM_HASH,
               self.reg.context(block)] + (prices or self.reg.packed_prices())
        return placeholder.prove(self.model_b, sig)

    def model_update(self, block, new, scenario=None):
        prev = self.reg.f.stateCommitment().call()
        proof, _ = self.model_proof(block, prev, new, scenario)
        return self.reg.submit_model_update(proof, block, new,
                                            self.scenario if scenario is None else scenario)

    def batch(self, group, block, model=None, accounts=None):
        return sample.prove_batch(self.build, model or self.model, accounts or self.accounts,
                                  group, self.reg.context(block))

    def submit(self, bp, block, **kw):
        return self.reg.submit_margin_batch(bp.proof, block, bp.group, bp.public[3], **kw)

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
