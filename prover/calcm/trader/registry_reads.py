"""Read-only views of a MarginRegistry (v3) that a trader needs, over plain JSON-RPC.

Public functions::

    connect(rpc: str, registry: str) -> RegistryReader          ChainUnavailable / InputError
    RegistryReader.commitments(block="latest") -> dict           lin/opt commitment, param hash, state
    RegistryReader.accounts_root(block="latest") -> int
    RegistryReader.health(owner, block="latest") -> (tier, proven_block, valid)
    RegistryReader.leaf(owner, block="latest") -> (registered, leaf)
    RegistryReader.group_size() -> int
    RegistryReader.head() -> int                                  latest block number

The ABI below is the subset of the registry's view functions used here (signatures as in
``verifier_contracts/MarginRegistry.sol``), so no compiler is needed to check a record.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError


class ChainUnavailable(RuntimeError):
    """The node does not answer, or the address holds no registry (exit code 4)."""


def _view(name: str, inputs: list[str], outputs: list[str]) -> dict:
    return {"type": "function", "name": name, "stateMutability": "view",
            "inputs": [{"name": f"a{i}", "type": t} for i, t in enumerate(inputs)],
            "outputs": [{"name": f"r{i}", "type": t} for i, t in enumerate(outputs)]}


ABI = [_view("accountsRoot", [], ["uint256"]), _view("linCommitment", [], ["uint256"]),
       _view("optCommitment", [], ["uint256"]), _view("paramHash", [], ["uint256"]),
       _view("stateCommitment", [], ["uint256"]), _view("groupSize", [], ["uint256"]),
       _view("healthOf", ["address"], ["uint8", "uint64", "bool"]),
       _view("leafOf", ["address"], ["bool", "uint32"])]


@dataclass
class RegistryReader:
    w3: object
    address: str
    contract: object

    def _call(self, fn, *args, block="latest"):
        try:
            return getattr(self.contract.functions, fn)(*args).call(block_identifier=block)
        except Exception as exc:     # web3 raises many types for a dead node or a non-contract
            raise ChainUnavailable(f"registry {self.address}: {fn}() failed at block {block}: "
                                   f"{type(exc).__name__}: {str(exc)[:120]}") from None

    def commitments(self, block="latest") -> dict:
        return {"lin_commitment": str(self._call("linCommitment", block=block)),
                "opt_commitment": str(self._call("optCommitment", block=block)),
                "param_hash": str(self._call("paramHash", block=block)),
                "state_commitment": str(self._call("stateCommitment", block=block))}

    def accounts_root(self, block="latest") -> int:
        return int(self._call("accountsRoot", block=block))

    def health(self, owner: str, block="latest") -> tuple[int, int, bool]:
        t, b, v = self._call("healthOf", owner, block=block)
        return int(t), int(b), bool(v)

    def leaf(self, owner: str, block="latest") -> tuple[bool, int]:
        r, leaf = self._call("leafOf", owner, block=block)
        return bool(r), int(leaf)

    def head(self) -> int:
        """The chain's latest block number."""
        try:
            return int(self.w3.eth.block_number)
        except Exception as exc:
            raise ChainUnavailable(f"eth_blockNumber failed: {type(exc).__name__}") from None

    def group_size(self) -> int:
        return int(self._call("groupSize"))


def connect(rpc: str, registry: str) -> RegistryReader:
    """A reader for ``registry`` at ``rpc`` (bad address: InputError; dead node: ChainUnavailable)."""
    from web3 import Web3

    from ..chain.anvil import rpc_ready
    from ..chain.evm import http_web3
    if not Web3.is_address(registry):
        raise InputError("--registry", repr(registry), "-", "not an address")
    if not isinstance(rpc, str) or not rpc.startswith(("http://", "https://")):
        raise InputError("--rpc", repr(rpc), "-", "expected an http(s):// URL")
    if not rpc_ready(rpc, timeout=5):
        raise ChainUnavailable(f"--rpc {rpc}: node does not answer JSON-RPC")
    w3 = http_web3(rpc)
    addr = Web3.to_checksum_address(registry)
    if not w3.eth.get_code(addr):
        raise ChainUnavailable(f"--registry {addr}: no contract at this address on {rpc}")
    return RegistryReader(w3, addr, w3.eth.contract(address=addr, abi=ABI))
