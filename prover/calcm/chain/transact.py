"""Contract transactions with web3.py: send, estimate, and name every revert.

- :class:`Transactor`: estimate (which executes the call, so a revert costs nothing), send,
  wait for the receipt; a revert raises :class:`RegistryRevert` with the custom error's
  name and decoded arguments (anvil's JSON-RPC errors and py-evm's ``TransactionFailed``);
- :func:`deploy_contract`: deploy one compiled artifact.

Transactions come from unlocked accounts (anvil's and eth-tester's dev accounts); for other
nodes, add a signing middleware to the Web3 before passing it in.
"""
from __future__ import annotations

import ast

from eth_tester.exceptions import TransactionFailed
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.exceptions import ContractLogicError

from .evm import is_pyevm
from .solc import Artifact

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


