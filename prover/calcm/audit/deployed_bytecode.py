"""Deployed code: the runtime bytecode on chain is an audited build's compiled verifier.

With ``--rpc`` and ``--address``, :func:`deployed_check`: the runtime bytecode at each
address equals the pinned solc's compilation of the verifier regenerated from an audited
key (:func:`calcm.chain.contracts.compile_verifier`). With ``--registry``,
:func:`registry_check`: each verifier the MarginRegistry uses now is the compiled verifier
of an audited build of its own kind.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

from .report import FAIL, PASS, SKIP, Check, Timer


def _strip_metadata(code: bytes) -> bytes:
    """Runtime code without solc's CBOR metadata (its length is the last two bytes)."""
    if len(code) < 2:
        return code
    n = int.from_bytes(code[-2:], "big")
    return code[:-(n + 2)] if n + 2 <= len(code) else code


def _match_note(code: bytes, compiled: dict[str, bytes], why_loose: str = "") -> str | None:
    """How runtime ``code`` matches ``compiled`` (label -> runtime code of an audited verifier): byte
    for byte, or but for solc's metadata hash (``why_loose`` says why); None when it matches none
    (empty code matches none)."""
    exact = [lbl for lbl, want in compiled.items() if code == want]
    loose = [lbl for lbl, want in compiled.items() if code and _strip_metadata(code) == _strip_metadata(want)]
    if exact:
        return f"runtime bytecode identical to the verifier of {exact[0]}"
    if loose:
        return f"same code as the verifier of {loose[0]} (only solc's metadata hash differs{why_loose})"
    return None


def expected_runtime(build, source: bytes) -> bytes:
    """Runtime bytecode of ``source`` as ``calcm chain deploy`` compiles it (same unit name)."""
    from ..chain.contracts import compile_verifier

    name = ("ModelVerifier.sol" if "struct_id" in build.manifest["config"]
            else f"MarginVerifier_{build.manifest['config']['name']}.sol")
    with tempfile.TemporaryDirectory(prefix="calcm-audit-sol-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(source)
        return bytes.fromhex(compile_verifier(path).deployed_bytecode[2:])


def deployed_check(expected: dict[str, bytes], rpc: str, addresses: Sequence[str]) -> Check:
    """Each address's runtime code equals one audited build's compiled verifier."""
    from ..chain.evm import http_web3

    with Timer() as t:
        w3 = http_web3(rpc)
        details, bad = [], 0
        for addr in addresses:
            try:
                code = bytes(w3.eth.get_code(w3.to_checksum_address(addr)))
            except Exception as exc:  # noqa: BLE001 - any RPC failure is this check's failure
                bad += 1
                details.append(f"{addr}: cannot read code from {rpc}: {exc}")
                continue
            note = _match_note(code, expected, ": compiled from another source unit name")
            if note:
                details.append(f"{addr}: {note}")
            else:
                bad += 1
                details.append(f"{addr}: {len(code)} bytes of runtime code match no audited verifier"
                               if code else f"{addr}: no contract code at this address")
    return Check("setup", "deployed verifier bytecode", FAIL if bad else PASS,
                 f"{len(addresses)} address(es) on {rpc}: {len(addresses) - bad} match an audited verifier",
                 {"addresses": len(addresses), "mismatches": bad}, details, t.seconds)


def rpc_skipped() -> Check:
    return Check("setup", "deployed verifier bytecode", SKIP, "no --rpc/--address or --registry given")


# ------------------------------------------------------------------------- the registry's verifiers

class RpcUnavailable(RuntimeError):
    """The JSON-RPC node does not answer (``calcm audit`` exit code 4, one line)."""


#: Registry getter -> (role, the build kind whose verifier it must be). MarginRegistry v2 and v3
#: both have these four views.
REGISTRY_VERIFIERS = {"marginVerifier()": ("margin", "margin"), "stepVerifier()": ("step", "model-step"),
                      "revalVerifier()": ("reval", "model-reval"), "optionVerifier()": ("option", "model-option")}
#: Name of the check (the CLI maps its FAIL, and that of :func:`deployed_check`, to exit code 3).
REGISTRY_CHECK = "registry verifiers bytecode"


def connect(rpc: str):
    """A Web3 on ``rpc`` that answered ``eth_chainId``; :class:`RpcUnavailable` otherwise."""
    from ..chain.evm import http_web3

    w3 = http_web3(rpc, timeout=10.0)
    try:
        w3.eth.chain_id
    except Exception as exc:  # noqa: BLE001 - any transport failure means the same thing here
        raise RpcUnavailable(f"cannot reach the JSON-RPC node at {rpc}: {type(exc).__name__}") from None
    return w3


def registry_verifiers(rpc: str, registry: str) -> dict[str, str | None]:
    """``{getter: address or None}`` as the registry at ``registry`` returns them now (None: the
    getter returns the zero address, i.e. not configured). Raises :class:`RpcUnavailable`, and
    ValueError when ``registry`` holds no contract or a getter reverts (not a registry)."""
    from eth_utils import keccak

    w3 = connect(rpc)
    try:
        addr = w3.to_checksum_address(registry)
        code = bytes(w3.eth.get_code(addr))
    except ValueError as exc:
        raise ValueError(f"{registry}: not an address ({exc})") from None
    except Exception as exc:  # noqa: BLE001
        raise RpcUnavailable(f"cannot read {registry} from {rpc}: {type(exc).__name__}") from None
    if not code:
        raise ValueError(f"{registry}: no contract code on {rpc}")
    out: dict[str, str | None] = {}
    for getter in REGISTRY_VERIFIERS:
        try:
            ret = bytes(w3.eth.call({"to": addr, "data": "0x" + keccak(text=getter)[:4].hex()}))
        except Exception as exc:  # noqa: BLE001 - a revert: not a MarginRegistry
            raise ValueError(f"{registry}: {getter} reverts ({type(exc).__name__}): not a MarginRegistry") from None
        if len(ret) != 32:
            raise ValueError(f"{registry}: {getter} returned {len(ret)} bytes: not a MarginRegistry")
        v = int.from_bytes(ret[12:], "big")
        out[getter] = w3.to_checksum_address(ret[12:]) if v else None
    return out


def registry_check(expected: dict[str, tuple[str, bytes]], rpc: str, registry: str,
                   verifiers: dict[str, str | None]) -> Check:
    """The verifiers the registry USES now (``verifiers``, from :func:`registry_verifiers`): each
    configured one must be byte for byte the compiled verifier of an audited build of its own kind
    (``expected``: label -> (kind, runtime code)). A configured verifier with no audited build of
    its kind is a FAIL (it is in use and unaudited); an unset one is listed."""
    w3 = connect(rpc)
    with Timer() as t:
        details, bad, used = [], 0, 0
        for getter, addr in verifiers.items():
            role, kind = REGISTRY_VERIFIERS[getter]
            if addr is None:
                details.append(f"{role} verifier ({getter}): not set (zero address)")
                continue
            used += 1
            try:
                code = bytes(w3.eth.get_code(addr))
            except Exception as exc:  # noqa: BLE001
                bad += 1
                details.append(f"{role} verifier {addr}: cannot read its code from {rpc}: {type(exc).__name__}")
                continue
            same_kind = {lbl: want for lbl, (k, want) in expected.items() if k == kind}
            note = _match_note(code, same_kind)
            other = [lbl for lbl, (k, want) in expected.items() if k != kind and code == want]
            if note:
                details.append(f"{role} verifier {addr}: {note}")
            else:
                bad += 1
                why = (f"it is the verifier of {other[0]}, a {expected[other[0]][0]} build, not a {kind} one"
                       if other else f"no audited {kind} build was given" if not same_kind
                       else f"{len(code)} bytes of runtime code match no audited {kind} build"
                       if code else "no contract code at this address")
                details.append(f"{role} verifier {addr}: MISMATCH: {why}")
    return Check("setup", REGISTRY_CHECK, FAIL if bad else PASS,
                 f"registry {registry} on {rpc}: {used} verifier(s) in use, {used - bad} match an audited build",
                 {"verifiers in use": used, "mismatches": bad}, details, t.seconds)
