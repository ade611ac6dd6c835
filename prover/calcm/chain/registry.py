"""Drive and read a deployed ``MarginRegistry`` (v3) with web3.py (anvil, py-evm, any node).

:class:`Registry` has one method per contract function: admin setters (sent directly: they
work during genesis; after ``finalizeGenesis`` the admin is the timelock, so use
:mod:`calcm.chain.governance` to schedule and execute them), role grants, the guardian's
pause, the venue's root and registration, the submissions (``submitModelStep``, ``submitModelReval``,
``submitOptionPart``, ``submitMarginBatch``) and the views. A revert raises
:class:`~calcm.chain.transact.RegistryRevert` carrying the custom error's name and
arguments. Submissions are checked with an ``eth_call`` from the sender first (the estimate
also executes the call), so a rejected proof costs no gas and is never broadcast.

Deployment lives in :mod:`calcm.chain.deployment`, prove-dir submission in
:mod:`calcm.chain.submit`; the names they export are re-exported here for older imports.
"""
from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from . import encoding
from .transact import RegistryRevert, SubmissionError, Transactor  # noqa: F401

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Roles:
    """Who holds which role (addresses). ``governance`` deploys, configures during genesis
    and is the timelock's proposer and executor afterwards; ``guardian`` may only pause
    (default: ``governance``)."""

    governance: str
    venue: str
    keepers: tuple[str, ...]
    guardian: str | None = None

    @property
    def pauser(self) -> str:
        return self.guardian or self.governance

    @classmethod
    def dev_accounts(cls, w3: Web3) -> "Roles":
        """Dev-node convention: account 0 governs, account 1 is the venue, 2 the keeper."""
        acc = w3.eth.accounts
        return cls(acc[0], acc[1], (acc[2],))


@dataclass(frozen=True)
class ModelView:
    """The registry's model at one read: state, commitments, version and clocks."""

    day: int
    version: int
    version_block: int
    state: int
    lin_commitment: int
    opt_commitment: int
    opt_state: int
    opt_prices_at: int
    usable: bool


class Registry:
    """A deployed ``MarginRegistry`` and its roles."""

    def __init__(self, w3: Web3, address: str, abi: list, roles: Roles):
        self.w3, self.address, self.roles = w3, Web3.to_checksum_address(address), roles
        self.contract = w3.eth.contract(address=self.address, abi=abi)
        self.tx = Transactor(w3, abi)
        self.f = self.contract.functions

    @property
    def keeper(self) -> str:
        return self.roles.keepers[0]

    def _gov(self, fn, sender):
        return self.tx.send(fn, sender or self.roles.governance)

    # admin (direct: genesis only; afterwards through calcm.chain.governance)
    def set_param_hash(self, h: int, sender: str | None = None):
        return self._gov(self.f.setParamHash(h), sender)

    def set_model_state(self, state: int, day: int, sender: str | None = None):
        """Genesis only: the state commitment and the UTC day of its close."""
        return self._gov(self.f.setModelState(state, day), sender)

    def upgrade_model(self, param_hash: int, state: int, day: int, sender: str | None = None):
        """Versioned model upgrade (the timelock's call after genesis)."""
        return self._gov(self.f.upgradeModel(param_hash, state, day), sender)

    def set_margin_verifier(self, addr: str, sender: str | None = None):
        return self._gov(self.f.setMarginVerifier(addr), sender)

    def set_model_verifiers(self, step: str, reval: str, option: str | None = None,
                            sender: str | None = None):
        return self._gov(self.f.setModelVerifiers(step, reval, option or ZERO_ADDRESS), sender)

    def set_price_feeds(self, feeds: list[str], sender: str | None = None):
        return self._gov(self.f.setPriceFeeds(feeds), sender)

    def role(self, name: str) -> bytes:
        """The role id of ``"venue"``, ``"keeper"``, ``"guardian"`` or ``"admin"``."""
        if name == "admin":
            return b"\x00" * 32
        return getattr(self.f, f"{name.upper()}_ROLE")().call()

    def set_role(self, name: str, account: str, enabled: bool = True, sender: str | None = None):
        """Grant (``enabled``) or revoke role ``name`` (OpenZeppelin AccessControl)."""
        fn = self.f.grantRole if enabled else self.f.revokeRole
        return self._gov(fn(self.role(name), Web3.to_checksum_address(account)), sender)

    def set_venue(self, account: str, enabled: bool = True, sender: str | None = None):
        return self.set_role("venue", account, enabled, sender)

    def set_keeper(self, account: str, enabled: bool = True, sender: str | None = None):
        return self.set_role("keeper", account, enabled, sender)

    def set_guardian(self, account: str, enabled: bool = True, sender: str | None = None):
        return self.set_role("guardian", account, enabled, sender)

    def set_max_age(self, blocks: int, sender: str | None = None):
        return self._gov(self.f.setMaxAge(blocks), sender)

    def set_max_price_age(self, secs: int, sender: str | None = None):
        return self._gov(self.f.setMaxPriceAge(secs), sender)

    def set_option_max_age(self, secs: int, sender: str | None = None):
        return self._gov(self.f.setOptionMaxAge(secs), sender)

    def set_keeper_stall(self, blocks: int, sender: str | None = None):
        return self._gov(self.f.setKeeperStall(blocks), sender)

    def finalize_genesis(self, timelock: str, sender: str | None = None):
        """Hand the admin role to ``timelock`` and renounce the sender's (end of genesis)."""
        return self._gov(self.f.finalizeGenesis(Web3.to_checksum_address(timelock)), sender)

    def unpause(self, sender: str | None = None):
        return self._gov(self.f.unpause(), sender)

    # guardian
    def pause(self, sender: str | None = None):
        """Stop submissions and root posts; gating fails safe (the guardian's only power)."""
        return self.tx.send(self.f.pause(), sender or self.roles.pauser)

    # venue
    def post_accounts_root(self, root: int, sender: str | None = None):
        """Post a new accounts root (O(1) gas): records of older roots become invalid."""
        return self.tx.send(self.f.postAccountsRoot(root), sender or self.roles.venue)

    def register_account(self, owner: str, leaf: int, sender: str | None = None):
        return self.tx.send(self.f.registerAccount(owner, leaf), sender or self.roles.venue)

    # keepers
    def _submit(self, fn, sender, gas, precheck: bool = True):
        sender = sender or self.keeper
        if precheck:
            self.tx.call(fn, sender)          # eth_call: a revert is raised, nothing is sent
        return self.tx.send(fn, sender, gas)

    def model_step_fn(self, proof: dict, block: int, rounds: list[int], new_state: int,
                      lin_commitment: int):
        return self.f.submitModelStep(encoding.solidity_proof(proof), block, list(rounds),
                                      new_state, lin_commitment)

    def check_model_step(self, proof: dict, block: int, rounds: list[int], new_state: int,
                         lin_commitment: int, sender: str | None = None) -> None:
        """``eth_call`` of the step: raises :class:`RegistryRevert` when the contract would
        reject it (NoNewDay, RoundBeforeBoundary, RoundNotFirst, InvalidProof, ...)."""
        self.tx.call(self.model_step_fn(proof, block, rounds, new_state, lin_commitment),
                     sender or self.keeper)

    def submit_model_step(self, proof: dict, block: int, rounds: list[int], new_state: int,
                          lin_commitment: int, sender: str | None = None, gas: int | None = None):
        """The daily step (``rounds``: per asset, the first round at or after the boundary),
        sent only after an ``eth_call`` succeeds."""
        return self._submit(self.model_step_fn(proof, block, rounds, new_state, lin_commitment),
                            sender, gas)

    def submit_model_reval(self, proof: dict, block: int, lin_commitment: int,
                           sender: str | None = None, gas: int | None = None):
        """An intraday revaluation at the feeds' latest answers (state unchanged)."""
        return self._submit(self.f.submitModelReval(encoding.solidity_proof(proof), block,
                                                    lin_commitment), sender, gas)

    def submit_option_part(self, proof: dict, part: int, next_sponge: int,
                           sender: str | None = None, gas: int | None = None):
        """Option part ``part`` (0 starts a chain at the latest fresh answers)."""
        return self._submit(self.f.submitOptionPart(encoding.solidity_proof(proof), part,
                                                    next_sponge), sender, gas)

    def submit_margin_batch(self, proof: dict, block: int, model_version: int, group: int,
                            packed_result: int, sender: str | None = None,
                            gas: int | None = None):
        """A margin batch proven under ``model_version`` with its context at ``block``."""
        return self._submit(self.f.submitMarginBatch(encoding.solidity_proof(proof), block,
                                                     model_version, group, packed_result),
                            sender, gas)

    # views
    def context(self, block: int) -> int:
        return self.f.contextOf(block).call()

    def packed_prices(self) -> list[int]:
        """The feeds' latest answers packed as a revaluation reads them (reverts as it would)."""
        return self.tx.call(self.f.packedPrices())

    def packed_close_prices(self, rounds: list[int]) -> list[int]:
        """The next step's close prices from ``rounds`` (reverts as the step would)."""
        return self.tx.call(self.f.packedClosePrices(list(rounds)))

    def step_boundary(self) -> int:
        return self.f.stepBoundary().call()

    def pending_options(self) -> dict:
        state, sponge, nxt, at = self.f.pendingOptions().call()
        return {"state": state, "sponge": sponge, "next_part": nxt, "prices_at": at,
                "packed_prices": self.f.pendingOptionPrices().call()}

    def model(self) -> ModelView:
        f = self.f
        day, version, vblock, opt_at = f.model().call()
        return ModelView(day, version, vblock, f.stateCommitment().call(),
                         f.linCommitment().call(), f.optCommitment().call(),
                         f.optState().call(), opt_at, f.modelUsable().call())

    def record(self, group: int) -> dict:
        tiers, block, version, model_version = self.f.recordOf(group).call()
        n = self.f.groupSize().call()
        return {"group": group, "block": block, "root_version": version,
                "model_version": model_version, "expiry": self.f.expiryOf(group).call(),
                "tiers": [(tiers >> (2 * a)) & 3 for a in range(n)]}

    def health(self, owner: str) -> dict:
        owner = Web3.to_checksum_address(owner)
        tier, block, valid = self.f.healthOf(owner).call()
        registered, leaf = self.f.leafOf(owner).call()
        return {"account": owner, "registered": registered, "leaf": leaf if registered else None,
                "tier": tier, "proven_block": block, "valid": valid,
                "liquidatable": self.f.isLiquidatable(owner).call(),
                "can_withdraw": self.f.canWithdraw(owner).call(),
                "can_increase_risk": self.f.canIncreaseRisk(owner).call(),
                "can_reduce_risk": self.f.canReduceRisk(owner).call()}

    def state(self) -> dict:
        """The registry's chain-level state."""
        f = self.f
        m = self.model()
        return {"registry": self.address, "chain_id": self.w3.eth.chain_id,
                "block": self.w3.eth.block_number, "governance": f.governance().call(),
                "timelock": f.timelock().call(), "genesis_over": f.genesisOver().call(),
                "paused": f.paused().call(), "keeper_stall": f.keeperStall().call(),
                "last_keeper_block": f.lastKeeperBlock().call(),
                "group_size": f.groupSize().call(), "n_assets": f.nAssets().call(),
                "n_parts": f.nParts().call(),
                "accounts_root": f.accountsRoot().call(), "root_version": f.rootVersion().call(),
                "day": m.day, "day_date": encoding.utc_date(m.day),   # the state's close day
                "block_time": encoding.utc_time(self.w3.eth.get_block("latest").timestamp),
                "model_version": m.version, "version_block": m.version_block,
                "state_commitment": m.state, "lin_commitment": m.lin_commitment,
                "opt_commitment": m.opt_commitment, "opt_state": m.opt_state,
                "opt_prices_at": m.opt_prices_at, "model_usable": m.usable,
                "param_hash": f.paramHash().call(),
                "max_age": f.maxAge().call(), "max_price_age": f.maxPriceAge().call(),
                "option_max_age": f.optionMaxAge().call(),
                "margin_verifier": f.marginVerifier().call(),
                "step_verifier": f.stepVerifier().call(),
                "reval_verifier": f.revalVerifier().call(),
                "option_verifier": f.optionVerifier().call(),
                "price_feeds": f.priceFeeds().call()}


# Older imports (`from calcm.chain.registry import deploy, ...`) keep working; resolved
# lazily because deployment and submit import this module.
_MOVED = {"deployment": ("DEFAULT_MAX_AGE", "DEFAULT_MAX_PRICE_AGE", "DEFAULT_OPTION_MAX_AGE",
                         "FEED_DECIMALS", "Deployment", "ModelVerifiers", "attach", "deploy",
                         "deploy_price_feeds", "read_deployment", "write_deployment"),
          "submit": ("ProofDir", "batch_dirs", "read_proof_dir", "submit_proof_dir"),
          "transact": ("decode_revert", "deploy_contract")}


def __getattr__(name: str):
    import importlib
    for module, names in _MOVED.items():
        if name in names:
            return getattr(importlib.import_module(f"{__package__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
