"""Connections to the two EVMs calcm runs: an anvil node over JSON-RPC, and the in-process
py-evm (eth-tester) chain used for cross-checks.

Both expose unlocked dev accounts through ``w3.eth.accounts`` and mine one block per
transaction, so :mod:`calcm.chain.registry` drives either with the same code.

py-evm runs its default fork for eth-tester 0.14 (``PragueVM``, :data:`PYEVM_FORK`);
anvil runs :data:`calcm.chain.anvil.DEFAULT_HARDFORK` unless told otherwise.
"""
from __future__ import annotations

from web3 import Web3

PYEVM_FORK = "prague"


def http_web3(url: str, timeout: float = 60.0) -> Web3:
    """A Web3 over HTTP JSON-RPC (anvil or any other node)."""
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))


def pyevm_web3() -> Web3:
    """A fresh in-process py-evm chain (10 funded, unlocked accounts)."""
    from eth_tester import EthereumTester, PyEVMBackend

    return Web3(Web3.EthereumTesterProvider(EthereumTester(PyEVMBackend())))


def is_pyevm(w3: Web3) -> bool:
    return isinstance(w3.provider, Web3.EthereumTesterProvider)


def node_name(w3: Web3) -> str:
    """``py-evm (prague)`` or the node's ``web3_clientVersion`` (e.g. ``anvil/v1.7.1``)."""
    if is_pyevm(w3):
        return f"py-evm ({PYEVM_FORK})"
    try:
        return str(w3.client_version)
    except Exception:  # noqa: BLE001 - a node without web3_clientVersion is still usable
        return "unknown node"


def mine_blocks(w3: Web3, n: int) -> None:
    """Advance the chain by ``n`` empty blocks (anvil: ``anvil_mine``; py-evm: in process)."""
    if n <= 0:
        return
    if is_pyevm(w3):
        w3.provider.ethereum_tester.mine_blocks(n)
    else:
        w3.provider.make_request("anvil_mine", [hex(n)])


def set_next_timestamp(w3: Web3, ts: int) -> None:
    """Date the next block at ``ts`` (seconds; must be after the latest block's)
    (anvil: ``evm_setNextBlockTimestamp``; py-evm: ``time_travel``, which mines a block at ts)."""
    if is_pyevm(w3):
        w3.provider.ethereum_tester.time_travel(ts)
    else:
        w3.provider.make_request("evm_setNextBlockTimestamp", [hex(ts)])


def warp(w3: Web3, ts: int) -> None:
    """Mine one block dated ``ts``, so that views (``eth_call``) see that time."""
    set_next_timestamp(w3, ts)
    if not is_pyevm(w3):
        w3.provider.make_request("evm_mine", [])
