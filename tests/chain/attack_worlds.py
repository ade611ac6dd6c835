"""The two registries issue 13's attacks run against, behind one small interface.

- :class:`OldWorld`: the MarginRegistry of commit 2e1204d (``fixtures/registry_2e1204d``,
  compiled by the pinned solcjs), governance a single EOA. Its circuits are gone, so its two
  verifiers are PLACEHOLDER circuits with the v1 signal counts (margin batch 4, model update
  5 + K): real Groth16 proofs from snarkjs-generated verifiers, any statement provable. That
  models "a valid proof exists": every attack here is against the registry's checks.
- :class:`NewWorld`: the current registry (v3), deployed by
  ``calcm.chain.deployment.deploy`` and finalized behind its OZ TimelockController (the
  default one-day delay); its verifiers are the generated verifiers of the v2 tests'
  PLACEHOLDER circuits (same signal counts as the real circuits).

Both put four accounts in two groups of two (``GROUP_SIZE``), three assets at ``PRICES``,
records fresh for ``MAX_AGE`` blocks, and offer the same operations (``next_close``,
``model_step``, ``record``, ``batch``, ``post_root``, ``health``, ``may_add_risk``), so one
test function runs one attack on both. Each world lives on its own anvil node; tests revert
it to a snapshot taken after setup.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from calcm.chain import encoding, governance, placeholder
from calcm.chain.contracts import (PRICE_FEED, compile_registry, compile_verifier,
                                   generate_verifier)
from calcm.chain.deployment import ModelVerifiers, deploy
from calcm.chain.evm import is_pyevm, mine_blocks, warp
from calcm.chain.registry import Roles
from calcm.chain.solc import compile_sources
from calcm.chain.transact import RegistryRevert, Transactor, deploy_contract
from calcm.paths import CONTRACTS, FIXTURES

FIXTURE = FIXTURES / "registry_2e1204d"
#: git blob of the fixture's MarginRegistry.sol at commit 2e1204d (README.md).
FIXTURE_BLOB = "bbe72a4318df8f68d77cf348c4c88637b2c7faeb"

N_ASSETS = 3
PRICES = [60_000.0, 3_000.0, 1.0]
DECIMALS = 8
GROUP_SIZE = 2
MAX_AGE = 16
MAX_PRICE_AGE = 3600
PARAM_HASH = 0xC0FFEE
GENESIS = 0x6E6E51
ROOT_0 = 0xA11CE
#: Placeholder tags (distinct circuits and keys at equal arity): the old margin verifier, the
#: old model verifier (5 + K = 6 signals at 3 assets, the same circuit as the v2 tests' step
#: placeholder), and "another" margin verifier governance switches to (M2).
OLD_MARGIN_TAG, OLD_MODEL_TAG, OTHER_MARGIN_TAG = 0, 2, 7
#: The new registry's placeholders: the v2 tests' tags (tests/chain/helpers.TAGS) and
#: another margin verifier for the switch (M2).
NEW_TAGS = {"margin": 1, "step": 2, "reval": 3, "other": 8}


def answer(usd: float) -> int:
    """A feed answer at ``DECIMALS`` for ``usd``."""
    return round(usd * 10**DECIMALS)


def old_pack_result(group: int, tiers: list[int]) -> int:
    """The v1 circuit's packedResult: ``group + 2**32 * sum_a tier[a] * 4**a`` (no N)."""
    return group + (sum(t << (2 * a) for a, t in enumerate(tiers)) << 32)


def fixture_sources() -> dict[str, str]:
    """The fixture's Solidity units (unit name = path relative to the fixture)."""
    return {str(p.relative_to(FIXTURE)): p.read_text() for p in sorted(FIXTURE.rglob("*.sol"))}


def feed_artifact():
    """The live MockPriceFeed, compiled on its own (not with the registry being edited)."""
    units = ("MockPriceFeed.sol", "interfaces/AggregatorV3Interface.sol")
    return compile_sources({u: (CONTRACTS / u).read_text() for u in units})[PRICE_FEED]


def fixture_blob() -> str:
    """``git hash-object`` of the fixture's MarginRegistry.sol."""
    return subprocess.run(["git", "hash-object", str(FIXTURE / "MarginRegistry.sol")],
                          capture_output=True, text=True, check=True).stdout.strip()


def snapshot(w3) -> str:
    return w3.provider.make_request("evm_snapshot", [])["result"]


def revert(w3, snap: str) -> str:
    """Revert to ``snap`` and take it again (anvil consumes a snapshot it reverts to)."""
    assert w3.provider.make_request("evm_revert", [snap])["result"]
    return snapshot(w3)


def now(w3) -> int:
    return w3.eth.get_block("latest").timestamp


def function_names(abi: list) -> set[str]:
    return {i["name"] for i in abi if i.get("type") == "function"}


class _World:
    """What both worlds share: the dev accounts' roles, feeds, placeholder proofs, views."""

    kind = ""

    def __init__(self, w3):
        assert not is_pyevm(w3), "the attack worlds run on anvil"
        self.w3 = w3
        acc = w3.eth.accounts
        self.gov, self.venue, self.keeper, self.outsider = acc[0], acc[1], acc[2], acc[3]
        self.owners = acc[4:8]
        self.builds: dict = {}
        self.feeds: list = []

    def _build_verifiers(self, counts: dict[str, tuple[int, int]]) -> dict:
        """Build (cached) the placeholders ``{kind: (n_signals, tag)}``; returns their
        compiled generated verifiers."""
        arts = {}
        with tempfile.TemporaryDirectory(prefix="calcm-attack-verifiers-") as tmp:
            for k, (n, tag) in counts.items():
                self.builds[k] = placeholder.build(n, tag=tag)
                arts[k] = compile_verifier(generate_verifier(self.builds[k].zkey,
                                                             f"{self.kind}_{k}", Path(tmp)))
        return arts

    def send(self, fn, sender):
        return self.tx.send(fn, sender)

    def mine(self, n: int) -> None:
        mine_blocks(self.w3, n)

    def prove(self, kind: str, signals: list[int]) -> tuple:
        """A placeholder proof of ``signals`` as the verifiers take it."""
        proof, public = placeholder.prove(self.builds[kind], signals)
        assert public == signals
        return encoding.solidity_proof(proof)

    def set_prices(self, usds: list[float], ts: int | None = None) -> list[int]:
        """Publish a round per asset dated ``ts`` (default: the latest block's time)."""
        return self._post_rounds(usds, now(self.w3) if ts is None else ts)

    def _post_rounds(self, usds: list[float], ts: int, carried: int | None = None) -> list[int]:
        """A round per asset dated ``ts``; asset ``carried`` gets a carried-over answer
        (answeredInRound = 1). Returns the round ids."""
        rounds = []
        for i, (feed, p) in enumerate(zip(self.feeds, usds)):
            fn = (feed.functions.setCarriedRound(answer(p), ts, 1) if i == carried
                  else feed.functions.setRoundData(answer(p), ts))
            self.tx.send(fn, self.gov)
            rounds.append(feed.functions.latestRound().call())
        return rounds

    def health(self, owner: str) -> dict:
        tier, block, valid = self.f.healthOf(owner).call()
        return {"tier": tier, "proven_block": block, "valid": valid,
                "can_withdraw": self.f.canWithdraw(owner).call(),
                "liquidatable": self.f.isLiquidatable(owner).call()}


class OldWorld(_World):
    """The registry of commit 2e1204d, configured as its deployment did: governance set
    the verifiers, feeds, param hash and genesis state; four accounts registered; the
    root posted with all four leaves changed."""

    kind = "2e1204d"

    def setup(self) -> "OldWorld":
        w3, gov = self.w3, self.gov
        self.arts = compile_sources(fixture_sources())
        self.abi = self.arts["MarginRegistry"].abi
        self.tx = Transactor(w3, self.abi)
        arts = self._build_verifiers({"margin": (4, OLD_MARGIN_TAG),
                                      "model": (encoding.MODEL_FIXED_SIGNALS + 1, OLD_MODEL_TAG),
                                      "other": (4, OTHER_MARGIN_TAG)})
        self.verifiers = {k: deploy_contract(w3, a, gov)[0] for k, a in arts.items()}
        addr, _ = deploy_contract(w3, self.arts["MarginRegistry"], gov, GROUP_SIZE, N_ASSETS,
                                  MAX_AGE, MAX_PRICE_AGE)
        self.address = addr
        self.c = w3.eth.contract(address=addr, abi=self.abi)
        self.f = self.c.functions
        feed_art = feed_artifact()
        self.feeds = []
        for i in range(N_ASSETS):
            fa, _ = deploy_contract(w3, feed_art, gov, DECIMALS, f"ASSET{i} / USD")
            self.feeds.append(w3.eth.contract(address=fa, abi=feed_art.abi))
        self.set_prices(PRICES)
        f = self.f
        for fn in (f.setMarginVerifier(self.verifiers["margin"]),
                   f.setModelVerifier(self.verifiers["model"]),
                   f.setPriceFeeds([x.address for x in self.feeds]),
                   f.setParamHash(PARAM_HASH), f.setModelState(GENESIS),
                   f.setVenue(self.venue, True), f.setKeeper(self.keeper, True)):
            self.send(fn, gov)
        for leaf, owner in enumerate(self.owners):
            self.send(f.registerAccount(owner, leaf), self.venue)
        self.post_root(ROOT_0, list(range(len(self.owners))))
        return self

    # ------------------------------------------------------------ the registry's paths
    def model_update(self, new_state: int, scenario: int, sender: str | None = None):
        """A proven model update for the current block at the feeds' current prices."""
        block = self.w3.eth.block_number
        signals = [self.f.stateCommitment().call(), new_state, scenario, PARAM_HASH,
                   self.f.contextOf(block).call()] + self.f.packedPrices().call()
        proof = self.prove("model", signals)
        return self.send(self.f.submitModelUpdate(proof, block, new_state, scenario),
                         sender or self.keeper)

    def next_close(self, usds: list[float], carried: int | None = None) -> list[int]:
        """Post a round per asset now (asset ``carried`` as a carried-over answer,
        answeredInRound = 1); returns the round ids. The old registry has no daily close: its
        model update reads the latest rounds."""
        return self._post_rounds(usds, now(self.w3), carried)

    def model_step(self, new_state: int, rounds: list[int], scenario: int = 0x5CE1):
        """The old registry's model update (``rounds`` unused: it reads the latest ones)."""
        return self.model_update(new_state, scenario)

    def batch(self, group: int, tiers: list[int] | None = None, packed: int | None = None,
              verifier: str = "margin"):
        """A margin batch for the latest model block: ``tiers`` of the group's leaves, or
        a raw ``packed`` result (as another circuit would output it)."""
        block = self.f.latestModelBlock().call()
        packed = old_pack_result(group, tiers) if packed is None else packed
        signals = [self.f.accountsRoot().call(), self.f.latestScenario().call(),
                   self.f.contextOf(block).call(), packed]
        proof = self.prove(verifier, signals)
        return self.send(self.f.submitMarginBatch(proof, block, group, packed), self.keeper)

    def record(self, group: int, tiers: list[int], scenario: int = 0x5CE0):
        """Fresh prices and a model update, then the group's tiers proven against it."""
        self.set_prices(PRICES)
        self.model_update(self.f.stateCommitment().call() + 1, scenario)
        return self.batch(group, tiers)

    def post_root(self, root: int, changed_leaves: list[int]):
        return self.send(self.f.postAccountsRoot(root, changed_leaves), self.venue)

    def may_add_risk(self, owner: str) -> bool:
        """The only add-risk gate the old ABI supports (it has no ``canIncreaseRisk``): an
        account is restricted iff a valid record says tier >= 2 ("no new risk")."""
        tier, _, valid = self.f.healthOf(owner).call()
        return not (valid and tier >= 2)



class NewWorld(_World):
    """The current registry (v3), deployed by ``calcm.chain.deployment.deploy`` and finalized
    behind its TimelockController: genesis at day ``d0``, the chain at 01:00 of ``d0 + 1``,
    no option parts (margin batches carry optCommitment 0), four accounts, the root posted.

    Its verifiers are the snarkjs-generated verifiers of the v2 tests' PLACEHOLDER circuits
    (``tests/chain/helpers.TAGS``, same signal counts as the real circuits): real Groth16
    proofs for any statement, so a rejection here is the registry's own check, whether it
    comes before verification or after it."""

    kind = "v3"

    def setup(self) -> "NewWorld":
        w3 = self.w3
        arts = self._build_verifiers({
            "margin": (encoding.MARGIN_SIGNALS, NEW_TAGS["margin"]),
            "step": (encoding.step_signal_count(N_ASSETS), NEW_TAGS["step"]),
            "reval": (encoding.reval_signal_count(N_ASSETS), NEW_TAGS["reval"]),
            "other": (encoding.MARGIN_SIGNALS, NEW_TAGS["other"])})
        self.verifiers = {"other": deploy_contract(w3, arts["other"], self.gov)[0]}
        self.d0 = now(w3) // encoding.DAY + 2
        t = (self.d0 + 1) * encoding.DAY
        warp(w3, t + 3600)
        self.roles = Roles(self.gov, self.venue, (self.keeper,))
        self.reg, self.dep = deploy(
            w3, arts["margin"], model_verifiers=ModelVerifiers(arts["step"], arts["reval"]),
            n_parts=0, n_assets=N_ASSETS, group_size=GROUP_SIZE, roles=self.roles,
            initial_prices=PRICES, prices_at=t + 60, param_hash=PARAM_HASH,
            genesis_state=GENESIS, genesis_day=self.d0, max_age=MAX_AGE,
            max_price_age=MAX_PRICE_AGE)
        self.arts = compile_registry()
        self.abi = self.arts["MarginRegistry"].abi
        self.f, self.tx = self.reg.f, self.reg.tx
        self.feeds = [w3.eth.contract(address=a, abi=self.arts[PRICE_FEED].abi)
                      for a in self.dep.price_feeds]
        for leaf, owner in enumerate(self.owners):
            self.send(self.f.registerAccount(owner, leaf), self.venue)
        self.post_root(ROOT_0)
        return self

    def model_version(self) -> int:
        return self.f.modelVersion().call()

    # ------------------------------------------------------------ governance
    # Through calcm.chain.governance (the OZ TimelockController deploy() put in charge).
    def schedule(self, fn):
        """Schedule ``fn`` (a bound ``self.f.<setter>(...)``) on the timelock; returns it."""
        governance.schedule(self.reg, governance.timelock_of(self.reg), fn)
        return fn

    def execute(self, fn):
        return governance.execute(self.reg, governance.timelock_of(self.reg), fn)

    def timelocked(self, fn):
        """Schedule ``fn``, warp past the timelock's delay, execute it."""
        return governance.enact(self.reg, fn)

    def min_delay(self) -> int:
        return governance.timelock_of(self.reg).min_delay

    # ------------------------------------------------------------ the registry's paths
    def next_close(self, usds: list[float], carried: int | None = None) -> list[int]:
        """Warp past the next step boundary and post the close rounds (asset ``carried`` as
        a carried-over answer, answeredInRound = 1), dated one second after it; returns the
        round ids."""
        b = self.f.stepBoundary().call()
        warp(self.w3, max(b, now(self.w3)) + 600)
        return self._post_rounds(usds, b + 1, carried)

    def model_step(self, new_state: int, rounds: list[int], lin: int = 0x1111):
        block = self.w3.eth.block_number
        try:
            prices = self.tx.call(self.f.packedClosePrices(rounds))
        except RegistryRevert:            # let the step itself name the rejection
            prices = [0] * encoding.price_signal_count(N_ASSETS)
        signals = [self.f.stateCommitment().call(), new_state, lin, PARAM_HASH,
                   self.f.contextOf(block).call()] + prices
        fn = self.f.submitModelStep(self.prove("step", signals), block, rounds, new_state, lin)
        self.tx.call(fn, self.keeper)
        return self.send(fn, self.keeper)

    def reval(self, lin: int):
        """An intraday revaluation at the feeds' latest answers (a new model version)."""
        block = self.w3.eth.block_number
        signals = [self.f.stateCommitment().call(), lin, PARAM_HASH,
                   self.f.contextOf(block).call()] + self.tx.call(self.f.packedPrices())
        return self.send(self.f.submitModelReval(self.prove("reval", signals), block, lin),
                         self.keeper)

    def batch(self, group: int, tiers: list[int] | None = None, packed: int | None = None,
              verifier: str = "margin"):
        """A margin batch at the current block and model version: ``tiers`` of the group's
        leaves packed with N = len(tiers) (``encoding.pack_result``), or a raw ``packed``."""
        block = self.w3.eth.block_number
        packed = encoding.pack_result(group, tiers) if packed is None else packed
        version = self.model_version()
        signals = [self.f.accountsRoot().call(), self.f.linCommitment().call(), 0,
                   self.f.contextOf(block).call(), packed]
        fn = self.f.submitMarginBatch(self.prove(verifier, signals), block, version, group,
                                      packed)
        self.tx.call(fn, self.keeper)
        return self.send(fn, self.keeper)

    def record(self, group: int, tiers: list[int], lin: int = 0x1111):
        """A revaluation at fresh prices, then the group's tiers proven under it."""
        self.set_prices(PRICES)
        self.reval(lin)
        return self.batch(group, tiers)

    def post_root(self, root: int, changed_leaves: list[int] | None = None):
        """The venue posts a root (v3 takes no leaf list: ``changed_leaves`` is ignored)."""
        return self.send(self.f.postAccountsRoot(root), self.venue)

    def may_add_risk(self, owner: str) -> bool:
        return self.f.canIncreaseRisk(owner).call()
