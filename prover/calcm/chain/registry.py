"""Deploy and drive the margin registry with web3.py (on anvil, py-evm or any node).

- :func:`deploy`: generated verifiers + ``MarginRegistry`` + one ``MockPriceFeed`` per asset
  (or existing feeds), configured by governance; returns a :class:`Deployment` (addresses,
  ABI hashes, settings) that :func:`write_deployment` stores as JSON.
- :class:`Registry`: one method per contract function. A revert raises
  :class:`RegistryRevert` carrying the custom error's name and arguments.
- :func:`submit_proof_dir`: submit a prove out dir (``proof.json`` + ``public.json``) as a
  margin batch (4 public signals) or a model update (5 + K), after checking its public
  signals against the chain so a doomed proof fails with a clear message and costs no gas.

Transactions come from unlocked accounts (anvil's and eth-tester's dev accounts); for other
nodes, add a signing middleware to the Web3 before passing it in.
"""
from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eth_tester.exceptions import TransactionFailed
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.exceptions import ContractLogicError

from .. import atomic
from ..errors import InputError
from . import encoding
from .contracts import PRICE_FEED, REGISTRY, compile_registry, verifier_signal_count
from .evm import is_pyevm, node_name
from .solc import EVM_VERSION, SOLC_VERSION, Artifact

#: Defaults: proofs stay fresh for 32 blocks; feed answers for one hour.
DEFAULT_MAX_AGE = 32
DEFAULT_MAX_PRICE_AGE = 3600
#: Feed decimals of the local MockPriceFeeds (Chainlink's USD feeds use 8).
FEED_DECIMALS = 8
#: Gas headroom over eth_estimateGas (the estimate is exact; the margin absorbs state drift).
GAS_HEADROOM = 1.2
#: Gas limit of py-evm transactions (gas used does not depend on the limit).
PYEVM_TX_GAS = 3_000_000


class RegistryRevert(RuntimeError):
    """A registry call reverted with a custom error (``name``) and its decoded ``args``."""

    def __init__(self, name: str, args: tuple, raw: str = ""):
        self.name, self.args_, self.raw = name, args, raw
        super().__init__(f"{name}{tuple(args)!r}" if args else name)


class SubmissionError(RuntimeError):
    """A proof that the chain would reject, caught before sending it."""


@dataclass(frozen=True)
class Roles:
    """Who holds which role (addresses)."""

    governance: str
    venue: str
    keepers: tuple[str, ...]

    @classmethod
    def dev_accounts(cls, w3: Web3) -> "Roles":
        """Dev-node convention: account 0 governs, account 1 is the venue, 2 the keeper."""
        acc = w3.eth.accounts
        return cls(acc[0], acc[1], (acc[2],))


@dataclass
class Deployment:
    """What :func:`deploy` did: enough to find and check every contract later."""

    chain_id: int
    node: str
    rpc: str | None
    embedded: bool
    registry: str
    margin_verifier: str
    model_verifier: str | None
    price_feeds: list[str]
    group_size: int
    n_assets: int
    max_age: int
    max_price_age: int
    roles: dict
    deploy_block: int
    abi_sha256: dict
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
    try:
        return Deployment.from_json(obj)
    except TypeError as exc:
        raise InputError(path, "deployment", "-", str(exc)) from None


# ------------------------------------------------------------------- transactions


def _error_table(abi: list) -> dict[bytes, tuple[str, list[str]]]:
    """4-byte selector -> (error name, argument types) for every custom error in ``abi``."""
    table = {}
    for item in abi:
        if item.get("type") == "error":
            types = [i["type"] for i in item["inputs"]]
            sig = f"{item['name']}({','.join(types)})"
            table[function_signature_to_4byte_selector(sig)] = (item["name"], types)
    return table


def decode_revert(w3: Web3, abi: list, data: str | None) -> RegistryRevert:
    """Turn revert data (0x-hex) into a :class:`RegistryRevert`."""
    raw = data or "0x"
    try:
        blob = bytes.fromhex(raw.removeprefix("0x"))
    except ValueError:
        return RegistryRevert("revert", (raw,), raw)
    table = _error_table(abi)
    if len(blob) >= 4 and blob[:4] in table:
        name, types = table[blob[:4]]
        return RegistryRevert(name, tuple(w3.codec.decode(types, blob[4:])), raw)
    return RegistryRevert("revert", (raw,), raw)


def _revert_data(exc: BaseException) -> str | None:
    """The revert data of a failed call: web3's ``ContractLogicError.data`` on JSON-RPC nodes,
    the raw bytes inside eth-tester's ``TransactionFailed`` on py-evm."""
    seen = exc
    while seen is not None:
        if isinstance(seen, ContractLogicError) and isinstance(seen.data, str):
            return seen.data
        arg = seen.args[0] if seen.args else None
        if isinstance(arg, bytes):
            return "0x" + arg.hex()
        if isinstance(arg, str) and arg.startswith("execution reverted: b"):
            try:
                return "0x" + ast.literal_eval(arg.removeprefix("execution reverted: ")).hex()
            except (ValueError, SyntaxError):
                return None
        seen = seen.__cause__ or seen.__context__
    return None


class Transactor:
    """Sends contract transactions and turns reverts into :class:`RegistryRevert`."""

    def __init__(self, w3: Web3, abi: list):
        self.w3, self.abi = w3, abi

    def send(self, fn, sender: str, gas: int | None = None):
        """Estimate, send and wait for ``fn`` from ``sender``; returns the receipt.

        Reverts surface at estimation (eth_estimateGas executes the call), so a rejected
        call costs nothing; a transaction that still reverts when mined is replayed as a
        call at its block to name the error.
        """
        tx = {"from": sender}
        try:
            if gas is None and is_pyevm(self.w3):
                # py-evm's estimator bisects over ~20 full executions, each with a pure-Python
                # pairing: one call finds a revert, and a fixed limit costs nothing extra.
                fn.call(tx)
                gas = PYEVM_TX_GAS
            elif gas is None:
                gas = int(fn.estimate_gas(tx) * GAS_HEADROOM) + 10_000
        except (ContractLogicError, TransactionFailed) as exc:
            raise decode_revert(self.w3, self.abi, _revert_data(exc)) from None
        try:
            tx_hash = fn.transact({**tx, "gas": gas})
        except (ContractLogicError, TransactionFailed) as exc:  # py-evm executes on send
            raise decode_revert(self.w3, self.abi, _revert_data(exc)) from None
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt.status != 1:
            try:
                fn.call(tx, block_identifier=receipt.blockNumber)
            except (ContractLogicError, TransactionFailed) as exc:
                raise decode_revert(self.w3, self.abi, _revert_data(exc)) from None
            raise RegistryRevert("revert", ("reverted when mined; no reason",))
        return receipt

    def call(self, fn, sender: str | None = None):
        try:
            return fn.call({"from": sender} if sender else {})
        except (ContractLogicError, TransactionFailed) as exc:
            raise decode_revert(self.w3, self.abi, _revert_data(exc)) from None


def deploy_contract(w3: Web3, art: Artifact, sender: str, *args):
    """Deploy ``art``; returns ``(address, gas used)``."""
    tx_hash = w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor(*args).transact(
        {"from": sender})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    if receipt.status != 1:
        raise RuntimeError(f"deploying {art.name} reverted")
    return receipt.contractAddress, receipt.gasUsed


# ------------------------------------------------------------------- the registry


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

    # governance
    def set_param_hash(self, h: int, sender: str | None = None):
        return self.tx.send(self.f.setParamHash(h), sender or self.roles.governance)

    def set_model_state(self, s: int, sender: str | None = None):
        return self.tx.send(self.f.setModelState(s), sender or self.roles.governance)

    def set_margin_verifier(self, addr: str, sender: str | None = None):
        return self.tx.send(self.f.setMarginVerifier(addr), sender or self.roles.governance)

    def set_model_verifier(self, addr: str | None, sender: str | None = None):
        addr = addr or "0x" + "00" * 20
        return self.tx.send(self.f.setModelVerifier(addr), sender or self.roles.governance)

    def set_price_feeds(self, feeds: list[str], sender: str | None = None):
        return self.tx.send(self.f.setPriceFeeds(feeds), sender or self.roles.governance)

    def set_venue(self, account: str, enabled: bool = True, sender: str | None = None):
        return self.tx.send(self.f.setVenue(account, enabled), sender or self.roles.governance)

    def set_keeper(self, account: str, enabled: bool = True, sender: str | None = None):
        return self.tx.send(self.f.setKeeper(account, enabled), sender or self.roles.governance)

    def set_max_age(self, blocks: int, sender: str | None = None):
        return self.tx.send(self.f.setMaxAge(blocks), sender or self.roles.governance)

    def set_max_price_age(self, secs: int, sender: str | None = None):
        return self.tx.send(self.f.setMaxPriceAge(secs), sender or self.roles.governance)

    def attest_model_update(self, block: int, new_state: int, scenario: int,
                            sender: str | None = None):
        return self.tx.send(self.f.attestModelUpdate(block, new_state, scenario),
                            sender or self.roles.governance)

    # venue
    def post_accounts_root(self, root: int, changed_leaves: list[int], sender: str | None = None):
        return self.tx.send(self.f.postAccountsRoot(root, list(changed_leaves)),
                            sender or self.roles.venue)

    def register_account(self, owner: str, leaf: int, sender: str | None = None):
        return self.tx.send(self.f.registerAccount(owner, leaf), sender or self.roles.venue)

    # keepers
    def submit_model_update(self, proof: dict, block: int, new_state: int, scenario: int,
                            sender: str | None = None, gas: int | None = None):
        """Submit a model-update proof (snarkjs ``proof.json`` dict) for ``block``."""
        return self.tx.send(self.f.submitModelUpdate(encoding.solidity_proof(proof), block,
                                                     new_state, scenario),
                            sender or self.keeper, gas)

    def submit_margin_batch(self, proof: dict, block: int, group: int, packed_result: int,
                            sender: str | None = None, gas: int | None = None):
        """Submit a margin batch proof (snarkjs ``proof.json`` dict) for ``block``."""
        return self.tx.send(self.f.submitMarginBatch(encoding.solidity_proof(proof), block,
                                                     group, packed_result),
                            sender or self.keeper, gas)

    # views
    def context(self, block: int) -> int:
        return self.f.contextOf(block).call()

    def packed_prices(self) -> list[int]:
        return self.tx.call(self.f.packedPrices())

    def record(self, group: int) -> dict:
        tiers, block, version = self.f.recordOf(group).call()
        n = self.f.groupSize().call()
        return {"group": group, "block": block, "root_version": version,
                "tiers": [(tiers >> (2 * a)) & 3 for a in range(n)]}

    def health(self, owner: str) -> dict:
        owner = Web3.to_checksum_address(owner)
        tier, block, valid = self.f.healthOf(owner).call()
        registered, leaf = self.f.leafOf(owner).call()
        return {"account": owner, "registered": registered, "leaf": leaf if registered else None,
                "tier": tier, "proven_block": block, "valid": valid,
                "liquidatable": self.f.isLiquidatable(owner).call(),
                "can_withdraw": self.f.canWithdraw(owner).call()}

    def state(self) -> dict:
        """The registry's chain-level state."""
        f = self.f
        return {"registry": self.address, "chain_id": self.w3.eth.chain_id,
                "block": self.w3.eth.block_number, "governance": f.governance().call(),
                "group_size": f.groupSize().call(), "n_assets": f.nAssets().call(),
                "accounts_root": f.accountsRoot().call(), "root_version": f.rootVersion().call(),
                "latest_model_block": f.latestModelBlock().call(),
                "latest_scenario": f.latestScenario().call(),
                "state_commitment": f.stateCommitment().call(), "param_hash": f.paramHash().call(),
                "max_age": f.maxAge().call(), "max_price_age": f.maxPriceAge().call(),
                "margin_verifier": f.marginVerifier().call(),
                "model_verifier": f.modelVerifier().call(), "price_feeds": f.priceFeeds().call()}


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
                    Roles(r["governance"], r["venue"], tuple(r["keepers"])))


# ------------------------------------------------------------------- deploy


def deploy_price_feeds(w3: Web3, owner: str, prices: list[float], names: list[str] | None = None,
                       decimals: int = FEED_DECIMALS,
                       artifacts: dict[str, Artifact] | None = None) -> tuple[list[str], int]:
    """Deploy one MockPriceFeed per price (USD per unit) with that answer; returns addresses
    and total gas."""
    art = (artifacts or compile_registry())[PRICE_FEED]
    addrs, gas = [], 0
    for i, p in enumerate(prices):
        name = names[i] if names else f"ASSET{i} / USD"
        addr, g = deploy_contract(w3, art, owner, decimals, name)
        feed = w3.eth.contract(address=addr, abi=art.abi)
        r = Transactor(w3, art.abi).send(feed.functions.setAnswer(round(p * 10**decimals)), owner)
        addrs.append(addr)
        gas += g + r.gasUsed
    return addrs, gas


def deploy(w3: Web3, margin_verifier: Artifact, *, n_assets: int, group_size: int,
           model_verifier: Artifact | None = None, roles: Roles | None = None,
           feeds: list[str] | None = None, initial_prices: list[float] | None = None,
           param_hash: int = 0, genesis_state: int = 0, max_age: int = DEFAULT_MAX_AGE,
           max_price_age: int = DEFAULT_MAX_PRICE_AGE, rpc: str | None = None,
           embedded: bool = False, builds: dict | None = None) -> tuple[Registry, Deployment]:
    """Deploy and configure everything; returns the registry and its :class:`Deployment`.

    ``feeds``: existing AggregatorV3 feeds (one per asset), else MockPriceFeeds are deployed
    with ``initial_prices`` (default 100 USD each). ``param_hash`` / ``genesis_state`` of 0
    leave them unset (governance sets them later). Without ``model_verifier`` the registry
    runs in attested mode (governance vouches for model updates).
    """
    roles = roles or Roles.dev_accounts(w3)
    arts = compile_registry()
    if verifier_signal_count(margin_verifier) != encoding.MARGIN_SIGNALS:
        raise InputError("margin build", "verifier", "public signals",
                         f"expected {encoding.MARGIN_SIGNALS}, "
                         f"got {verifier_signal_count(margin_verifier)}")
    if model_verifier is not None and \
            verifier_signal_count(model_verifier) != encoding.model_signal_count(n_assets):
        raise InputError("model build", "verifier", "public signals",
                         f"expected {encoding.model_signal_count(n_assets)} for {n_assets} "
                         f"assets, got {verifier_signal_count(model_verifier)}")
    gov = roles.governance
    gas: dict[str, int] = {}
    mv_addr, gas["margin_verifier"] = deploy_contract(w3, margin_verifier, gov)
    model_addr = None
    if model_verifier is not None:
        model_addr, gas["model_verifier"] = deploy_contract(w3, model_verifier, gov)
    reg_addr, gas["registry"] = deploy_contract(w3, arts[REGISTRY], gov, group_size, n_assets,
                                                max_age, max_price_age)
    if feeds is None:
        feeds, gas["price_feeds"] = deploy_price_feeds(
            w3, gov, initial_prices or [100.0] * n_assets, artifacts=arts)
    reg = Registry(w3, reg_addr, arts[REGISTRY].abi, roles)
    receipts = [reg.set_margin_verifier(mv_addr), reg.set_price_feeds(feeds),
                reg.set_venue(roles.venue)]
    receipts += [reg.set_keeper(k) for k in roles.keepers]
    if model_addr:
        receipts.append(reg.set_model_verifier(model_addr))
    if param_hash:
        receipts.append(reg.set_param_hash(param_hash))
    if genesis_state:
        receipts.append(reg.set_model_state(genesis_state))
    gas["configure"] = sum(r.gasUsed for r in receipts)
    abi_sha = {REGISTRY: arts[REGISTRY].abi_hash, PRICE_FEED: arts[PRICE_FEED].abi_hash,
               "MarginVerifier": margin_verifier.abi_hash}
    if model_verifier is not None:
        abi_sha["ModelVerifier"] = model_verifier.abi_hash
    dep = Deployment(
        chain_id=w3.eth.chain_id, node=node_name(w3), rpc=rpc, embedded=embedded,
        registry=reg_addr, margin_verifier=mv_addr, model_verifier=model_addr,
        price_feeds=list(feeds), group_size=group_size, n_assets=n_assets, max_age=max_age,
        max_price_age=max_price_age,
        roles={"governance": roles.governance, "venue": roles.venue,
               "keepers": list(roles.keepers)},
        deploy_block=w3.eth.block_number, abi_sha256=abi_sha, builds=builds or {}, gas=gas)
    return reg, dep


# ------------------------------------------------------------------- prove out dirs


@dataclass(frozen=True)
class ProofDir:
    """A prove out dir: the proof and its public signals."""

    path: Path
    proof: dict
    public: list[int]

    @property
    def kind(self) -> str:
        return "margin" if len(self.public) == encoding.MARGIN_SIGNALS else "model"


def read_proof_dir(path: Path) -> ProofDir:
    """Read ``proof.json`` and ``public.json`` from a prove out dir."""
    path = Path(path)
    files = {}
    for name in ("proof.json", "public.json"):
        p = path / name
        try:
            files[name] = json.loads(p.read_text())
        except FileNotFoundError:
            raise InputError(p, "-", "-", "missing (expected a `calcm prove` out dir)") from None
        except json.JSONDecodeError as exc:
            raise InputError(p, f"line {exc.lineno}", "-", f"not JSON: {exc.msg}") from None
    proof, public = files["proof.json"], files["public.json"]
    for key in ("pi_a", "pi_b", "pi_c"):
        if key not in proof:
            raise InputError(path / "proof.json", "proof", key, "missing")
    try:
        signals = [int(x) for x in public]
    except (TypeError, ValueError):
        raise InputError(path / "public.json", "public signals", "-",
                         "expected a list of decimal strings") from None
    for i, v in enumerate(signals):
        if not encoding.in_field(v):
            raise InputError(path / "public.json", f"signal {i}", "value",
                             "not below the BN254 scalar field order")
    if len(signals) < encoding.MARGIN_SIGNALS:
        raise InputError(path / "public.json", "public signals", "length",
                         f"{len(signals)} signals: neither a margin batch nor a model update")
    return ProofDir(path, proof, signals)


def find_context_block(reg: Registry, context: int, lo: int, hi: int) -> int | None:
    """The block in ``[lo, hi]`` whose context on this chain and registry is ``context``."""
    chain_id = reg.w3.eth.chain_id
    for b in range(hi, max(lo, 0) - 1, -1):
        if encoding.batch_context(chain_id, reg.address, b) == context:
            return b
    return None


def batch_dirs(path: Path) -> list[Path]:
    """The batch dirs under ``path``: itself when it holds ``proof.json``, else the
    ``group-XXXX`` dirs of a ``calcm prove`` out dir (in group order)."""
    path = Path(path)
    if (path / "proof.json").exists():
        return [path]
    groups = sorted(p for p in path.glob("group-*") if (p / "proof.json").exists())
    if not groups:
        raise InputError(path / "proof.json", "-", "-",
                         "missing (expected a `calcm prove` out dir or one of its group dirs)")
    return groups


def _context_meta(path: Path) -> dict | None:
    """The context inputs ``calcm prove`` records in ``batch.json`` (None when absent)."""
    try:
        return json.loads((Path(path) / "batch.json").read_text()).get("context")
    except (FileNotFoundError, json.JSONDecodeError, AttributeError):
        return None


def submit_proof_dir(reg: Registry, path: Path, block: int | None = None) -> dict:
    """Check a batch dir against the chain, then submit it; returns a summary dict.

    The block comes from ``--block``, else from ``batch.json`` (written by ``calcm prove``),
    else from the context signal (margin batches: the latest model block; model updates:
    the newest block within ``maxAge`` whose context matches).
    """
    pd = read_proof_dir(path)
    st = reg.state()
    pub = pd.public
    meta = _context_meta(path)
    if pd.kind == "margin":
        root, scenario, context, packed = pub
        if block is None:
            block = int(meta["block"]) if meta and "block" in meta else st["latest_model_block"]
        if context != encoding.batch_context(st["chain_id"], reg.address, block):
            made_for = (f" (it was made for chain {meta.get('chain_id')}, registry "
                        f"{meta.get('registry')}, block {meta.get('block')})" if meta else "")
            raise SubmissionError(f"{path}: context is not block {block} on chain "
                                  f"{st['chain_id']} at registry {reg.address}{made_for}")
        if block != st["latest_model_block"]:
            raise SubmissionError(f"{path}: block {block} is not the latest model block "
                                  f"{st['latest_model_block']}")
        if root != st["accounts_root"]:
            raise SubmissionError(f"{path}: accounts root is not the current one "
                                  f"(proof {root}, registry {st['accounts_root']})")
        if scenario != st["latest_scenario"]:
            raise SubmissionError(f"{path}: scenario commitment is not block {block}'s")
        group = packed & (2**encoding.GROUP_BITS - 1)
        receipt = reg.submit_margin_batch(pd.proof, block, group, packed)
        _, tiers = encoding.unpack_result(packed, st["group_size"])
        return {"kind": "margin", "block": block, "group": group, "tiers": tiers,
                "tx": receipt.transactionHash.hex(), "gas_used": receipt.gasUsed}
    want = encoding.model_signal_count(st["n_assets"])
    if len(pub) != want:
        raise SubmissionError(f"{path}: {len(pub)} public signals; a model update for "
                              f"{st['n_assets']} assets has {want}")
    prev, new_state, scenario, param_hash, context = pub[:5]
    if block is None:
        block = find_context_block(reg, context, st["block"] - st["max_age"], st["block"])
        if block is None:
            raise SubmissionError(f"{path}: context matches no block within maxAge on this "
                                  "chain and registry")
    if prev != st["state_commitment"]:
        raise SubmissionError(f"{path}: starts from model state {prev}, registry holds "
                              f"{st['state_commitment']}")
    if param_hash != st["param_hash"]:
        raise SubmissionError(f"{path}: parameter hash differs from the published one")
    if pub[5:] != reg.packed_prices():
        raise SubmissionError(f"{path}: packed prices differ from the feeds' current prices")
    receipt = reg.submit_model_update(pd.proof, block, new_state, scenario)
    return {"kind": "model", "block": block, "new_state": new_state,
            "scenario_commitment": scenario, "tx": receipt.transactionHash.hex(),
            "gas_used": receipt.gasUsed}
