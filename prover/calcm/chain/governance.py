"""Admin calls through the registry's OpenZeppelin ``TimelockController`` (after genesis).

After ``finalizeGenesis`` the registry's ``DEFAULT_ADMIN_ROLE`` belongs to the timelock
alone: an admin call (``setMaxAge``, ``upgradeModel``, ``grantRole``, ``unpause``, ...) is
scheduled by a proposer, waits ``minDelay`` seconds, then is executed by an executor, which
makes the timelock call the registry (docs/CHAIN.md, governance).

- :func:`operation`: a bound registry call (``reg.f.setMaxAge(64)``) as the timelock's
  ``(target, value, data)``;
- :func:`schedule` / :func:`execute`: the two transactions, from ``reg.roles.governance``
  (the proposer and executor :func:`~calcm.chain.deployment.deploy` sets up) unless told;
- :func:`enact`: schedule, move a dev node's clock past the delay, execute (anvil and
  eth-tester only: tests and the demo).

Reverts are named with both ABIs, so a call the registry rejects when executed surfaces as
the registry's own error (OpenZeppelin bubbles it up), and a premature execute as
``TimelockUnexpectedOperationState``.
"""
from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from .contracts import TIMELOCK, compile_registry
from .evm import warp
from .registry import Registry
from .transact import Transactor

ZERO32 = b"\x00" * 32


@dataclass
class Timelock:
    """A deployed ``TimelockController`` and a transactor that names both contracts' errors."""

    w3: Web3
    address: str
    contract: object
    tx: Transactor

    @property
    def min_delay(self) -> int:
        return self.contract.functions.getMinDelay().call()


def timelock_of(reg: Registry) -> Timelock:
    """The timelock holding ``reg``'s admin role (raises ValueError during genesis)."""
    addr = reg.f.timelock().call()
    if int(addr, 16) == 0:
        raise ValueError(f"registry {reg.address} is in genesis: no timelock yet")
    abi = compile_registry()[TIMELOCK].abi
    addr = Web3.to_checksum_address(addr)
    return Timelock(reg.w3, addr, reg.w3.eth.contract(address=addr, abi=abi),
                    Transactor(reg.w3, abi + [e for e in reg.contract.abi if e["type"] == "error"]))


def operation(reg: Registry, call) -> tuple[str, int, bytes]:
    """``(target, value, data)`` of a bound registry function ``call``."""
    return reg.address, 0, bytes.fromhex(call._encode_transaction_data().removeprefix("0x"))


def operation_id(reg: Registry, call, salt: bytes = ZERO32) -> bytes:
    """The timelock's id of ``call`` (``hashOperation`` with no predecessor)."""
    tl = timelock_of(reg)
    target, value, data = operation(reg, call)
    return tl.contract.functions.hashOperation(target, value, data, ZERO32, salt).call()


def schedule(reg: Registry, timelock: Timelock, call, *, sender: str | None = None,
             salt: bytes = ZERO32, delay: int | None = None):
    """Schedule ``call`` (a bound ``reg.f.<fn>(...)``) ``delay`` seconds out (default: the
    timelock's ``minDelay``); returns the receipt."""
    target, value, data = operation(reg, call)
    d = timelock.min_delay if delay is None else delay
    fn = timelock.contract.functions.schedule(target, value, data, ZERO32, salt, d)
    return timelock.tx.send(fn, sender or reg.roles.governance)


def execute(reg: Registry, timelock: Timelock, call, *, sender: str | None = None,
            salt: bytes = ZERO32):
    """Execute a scheduled ``call`` whose delay has passed; returns the receipt."""
    target, value, data = operation(reg, call)
    fn = timelock.contract.functions.execute(target, value, data, ZERO32, salt)
    return timelock.tx.send(fn, sender or reg.roles.governance)


def ready_at(reg: Registry, timelock: Timelock, call, salt: bytes = ZERO32) -> int:
    """The timestamp from which ``call`` can be executed (0: not scheduled)."""
    target, value, data = operation(reg, call)
    op = timelock.contract.functions.hashOperation(target, value, data, ZERO32, salt).call()
    return timelock.contract.functions.getTimestamp(op).call()


def enact(reg: Registry, call, *, sender: str | None = None, salt: bytes = ZERO32):
    """Schedule ``call``, warp a dev node (anvil, eth-tester) to the ready time, execute.

    Moves the chain's clock forward by the timelock's delay: model-day and price freshness
    logic sees that time. Returns the execute receipt.
    """
    tl = timelock_of(reg)
    schedule(reg, tl, call, sender=sender, salt=salt)
    at = ready_at(reg, tl, call, salt)
    now = reg.w3.eth.get_block("latest").timestamp
    if at > now:
        warp(reg.w3, at)
    return execute(reg, tl, call, sender=sender, salt=salt)
