"""Deploy the v3 registry with its verifiers, feeds and timelock; the deployment file; attach.

- :func:`deploy`: the margin verifier, the three model verifiers (step, reval, option part;
  :class:`ModelVerifiers`), ``MarginRegistry``, one ``MockPriceFeed`` per asset (or
  existing feeds) and an OpenZeppelin ``TimelockController`` (``minDelay`` =
  ``timelock_delay`` seconds; proposer and executor = ``roles.governance``; no admin). The
  deployer configures everything during genesis (verifiers, feeds, roles, parameter hash,
  model state), then ``finalizeGenesis`` hands the admin role to the timelock. Returns the
  :class:`~calcm.chain.registry.Registry` and a :class:`Deployment` (addresses, ABI hashes,
  settings) that :func:`write_deployment` stores as JSON.
- There is no attested model path: a registry takes model proofs only (issue 13 A5).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from web3 import Web3

from .. import atomic
from ..errors import InputError
from . import encoding
from .contracts import PRICE_FEED, REGISTRY, TIMELOCK, compile_registry, verifier_signal_count
from .evm import node_name
from .registry import ZERO_ADDRESS, Registry, Roles
from .solc import EVM_VERSION, SOLC_VERSION, Artifact
from .transact import Transactor, deploy_contract

#: Defaults: records stay fresh for 32 blocks; feed answers for one hour; an option
#: commitment is usable for one hour after the prices it was proven at.
DEFAULT_MAX_AGE = 32
DEFAULT_MAX_PRICE_AGE = 3600
DEFAULT_OPTION_MAX_AGE = 3600
#: Timelock delay after genesis (seconds; OpenZeppelin TimelockController minDelay).
DEFAULT_TIMELOCK_DELAY = 86400
#: Blocks without a keeper submission after which anyone may submit proofs.
DEFAULT_KEEPER_STALL = 50
#: Feed decimals of the local MockPriceFeeds (Chainlink's USD feeds use 8).
FEED_DECIMALS = 8


@dataclass(frozen=True)
class ModelVerifiers:
    """The generated verifiers of the three model circuits (``option`` None without options)."""

    step: Artifact
    reval: Artifact
    option: Artifact | None = None


@dataclass
class Deployment:
    """What :func:`deploy` did: enough to find and check every contract later."""

    chain_id: int
    node: str
    rpc: str | None
    embedded: bool
    registry: str
    margin_verifier: str
    model_verifiers: dict | None
    price_feeds: list[str]
    group_size: int
    n_assets: int
    n_parts: int
    max_age: int
    max_price_age: int
    option_max_age: int
    roles: dict
    deploy_block: int
    abi_sha256: dict
    timelock: str | None = None
    timelock_delay: int = DEFAULT_TIMELOCK_DELAY
    keeper_stall: int = DEFAULT_KEEPER_STALL
    genesis_over: bool = True
    solc: str = SOLC_VERSION
    evm_version: str = EVM_VERSION
    builds: dict = field(default_factory=dict)
    gas: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict) -> "Deployment":
        return cls(**obj)


def write_deployment(path: Path, dep: Deployment) -> Path:
    """Write the deployment file atomically."""
    return atomic.write_json(path, dep.to_json())


def read_deployment(path: Path) -> Deployment:
    """Read a deployment file; bad or missing fields are an :class:`InputError`."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "-", "-", "deployment file not found (run `calcm chain deploy`)")
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", "-", f"not JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise InputError(path, "-", "-", "expected a JSON object (a `calcm chain deploy` file)")
    for key, kind in (("registry", str), ("margin_verifier", str), ("chain_id", int), ("group_size", int),
                      ("abi_sha256", dict)):
        if not isinstance(obj.get(key), kind) or isinstance(obj.get(key), bool):
            raise InputError(path, "deployment", key, f"missing, null or not a {kind.__name__}")
    try:
        return Deployment.from_json(obj)
    except TypeError as exc:
        raise InputError(path, "deployment", "-", f"{exc} (a v1 deployment? redeploy)") from None


def attach(w3: Web3, dep: Deployment, artifacts: dict[str, Artifact] | None = None) -> Registry:
    """The :class:`Registry` of a deployment, after checking the ABI has not changed since."""
    arts = artifacts or compile_registry()
    art = arts[REGISTRY]
    if dep.abi_sha256.get(REGISTRY) != art.abi_hash:
        raise InputError("deployment", REGISTRY, "abi_sha256",
                         "MarginRegistry.sol changed since this deployment; redeploy")
    if w3.eth.chain_id != dep.chain_id:
        raise InputError("deployment", "chain", "chain_id",
                         f"node is chain {w3.eth.chain_id}, deployment is on {dep.chain_id}")
    if not w3.eth.get_code(Web3.to_checksum_address(dep.registry)):
        raise InputError("deployment", REGISTRY, "registry",
                         f"no contract at {dep.registry} on this node (was it an embedded "
                         "anvil that has exited?)")
    r = dep.roles
    return Registry(w3, dep.registry, art.abi,
                    Roles(r["governance"], r["venue"], tuple(r["keepers"]), r.get("guardian")))


def deploy_price_feeds(w3: Web3, owner: str, prices: list[float], names: list[str] | None = None,
                       decimals: int = FEED_DECIMALS, updated_at: int | None = None,
                       artifacts: dict[str, Artifact] | None = None) -> tuple[list[str], int]:
    """Deploy one MockPriceFeed per price (USD per unit) with that answer (dated now, or
    ``updated_at``); returns addresses and total gas."""
    art = (artifacts or compile_registry())[PRICE_FEED]
    addrs, gas = [], 0
    for i, p in enumerate(prices):
        name = names[i] if names else f"ASSET{i} / USD"
        addr, g = deploy_contract(w3, art, owner, decimals, name)
        f = w3.eth.contract(address=addr, abi=art.abi).functions
        answer = round(p * 10**decimals)
        fn = f.setAnswer(answer) if updated_at is None else f.setRoundData(answer, updated_at)
        r = Transactor(w3, art.abi).send(fn, owner)
        addrs.append(addr)
        gas += g + r.gasUsed
    return addrs, gas


def _check_signals(art: Artifact, want: int, what: str) -> None:
    got = verifier_signal_count(art)
    if got != want:
        raise InputError(f"{what} build", "verifier", "public signals",
                         f"expected {want}, got {got}")


def deploy(w3: Web3, margin_verifier: Artifact, *, n_assets: int, group_size: int,
           model_verifiers: ModelVerifiers | None = None, n_parts: int = 0,
           roles: Roles | None = None, feeds: list[str] | None = None,
           initial_prices: list[float] | None = None, prices_at: int | None = None,
           param_hash: int = 0, genesis_state: int = 0, genesis_day: int | None = None,
           max_age: int = DEFAULT_MAX_AGE, max_price_age: int = DEFAULT_MAX_PRICE_AGE,
           option_max_age: int = DEFAULT_OPTION_MAX_AGE, rpc: str | None = None,
           embedded: bool = False, builds: dict | None = None,
           timelock_delay: int = DEFAULT_TIMELOCK_DELAY, keeper_stall: int = DEFAULT_KEEPER_STALL,
           finalize: bool = True) -> tuple[Registry, Deployment]:
    """Deploy and configure everything; returns the registry and its :class:`Deployment`.

    Genesis: ``roles.governance`` deploys and configures (verifiers, feeds, venue, keepers,
    guardian = ``roles.pauser``, parameter hash, model state); with ``finalize`` it then calls
    ``finalizeGenesis(timelock)``, after which admin calls go through the timelock
    (:mod:`calcm.chain.governance`); without it the deployer stays admin until
    ``reg.finalize_genesis(dep.timelock)``.

    ``feeds``: existing AggregatorV3 feeds (one per asset), else MockPriceFeeds are deployed
    with ``initial_prices`` (default 100 USD each) dated ``prices_at`` (default: now).
    ``param_hash`` / ``genesis_state`` of 0 leave them unset (governance sets them later);
    ``genesis_day`` defaults to the UTC day of the latest block. ``n_parts``: option parts
    per option revaluation (``n_opt * C``; 0 without options).
    """
    roles = roles or Roles.dev_accounts(w3)
    arts = compile_registry()
    _check_signals(margin_verifier, encoding.MARGIN_SIGNALS, "margin")
    if model_verifiers is not None:
        _check_signals(model_verifiers.step, encoding.step_signal_count(n_assets), "model step")
        _check_signals(model_verifiers.reval, encoding.reval_signal_count(n_assets), "model reval")
        if n_parts and model_verifiers.option is None:
            raise InputError("option build", "verifier", "-", f"{n_parts} option parts need "
                             "an option-part verifier")
        if model_verifiers.option is not None:
            _check_signals(model_verifiers.option, encoding.option_signal_count(n_assets),
                           "option part")
    gov = roles.governance
    gas: dict[str, int] = {}
    mv_addr, gas["margin_verifier"] = deploy_contract(w3, margin_verifier, gov)
    model_addrs = None
    if model_verifiers is not None:
        model_addrs = {}
        for name in ("step", "reval", "option"):
            art = getattr(model_verifiers, name)
            if art is not None:
                model_addrs[name], gas[f"{name}_verifier"] = deploy_contract(w3, art, gov)
    reg_addr, gas["registry"] = deploy_contract(w3, arts[REGISTRY], gov, group_size, n_assets,
                                                n_parts, max_age, max_price_age, option_max_age,
                                                keeper_stall)
    tl_addr, gas["timelock"] = deploy_contract(w3, arts[TIMELOCK], gov, timelock_delay, [gov],
                                               [gov], ZERO_ADDRESS)
    if feeds is None:
        feeds, gas["price_feeds"] = deploy_price_feeds(
            w3, gov, initial_prices or [100.0] * n_assets, updated_at=prices_at, artifacts=arts)
    reg = Registry(w3, reg_addr, arts[REGISTRY].abi, roles)
    receipts = [reg.set_margin_verifier(mv_addr), reg.set_price_feeds(feeds),
                reg.set_venue(roles.venue)]
    receipts += [reg.set_keeper(k) for k in roles.keepers]
    receipts.append(reg.set_guardian(roles.pauser))
    if model_addrs:
        receipts.append(reg.set_model_verifiers(model_addrs["step"], model_addrs["reval"],
                                                model_addrs.get("option")))
    if param_hash:
        receipts.append(reg.set_param_hash(param_hash))
    if genesis_state:
        if genesis_day is None:
            genesis_day = w3.eth.get_block("latest").timestamp // encoding.DAY
        receipts.append(reg.set_model_state(genesis_state, genesis_day))
    gas["configure"] = sum(r.gasUsed for r in receipts)
    if finalize:
        gas["finalize_genesis"] = reg.finalize_genesis(tl_addr).gasUsed
    abi_sha = {REGISTRY: arts[REGISTRY].abi_hash, PRICE_FEED: arts[PRICE_FEED].abi_hash,
               TIMELOCK: arts[TIMELOCK].abi_hash,
               "MarginVerifier": margin_verifier.abi_hash}
    dep = Deployment(
        chain_id=w3.eth.chain_id, node=node_name(w3), rpc=rpc, embedded=embedded,
        registry=reg_addr, margin_verifier=mv_addr, model_verifiers=model_addrs,
        price_feeds=list(feeds), group_size=group_size, n_assets=n_assets, n_parts=n_parts,
        max_age=max_age, max_price_age=max_price_age, option_max_age=option_max_age,
        roles={"governance": roles.governance, "venue": roles.venue,
               "keepers": list(roles.keepers), "guardian": roles.pauser},
        deploy_block=w3.eth.block_number, abi_sha256=abi_sha, builds=builds or {}, gas=gas,
        timelock=tl_addr, timelock_delay=timelock_delay, keeper_stall=keeper_stall,
        genesis_over=finalize)
    return reg, dep
