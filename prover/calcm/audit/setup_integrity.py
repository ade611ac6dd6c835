"""Setup integrity: the ptau, the zkey, the verification key, the Solidity verifier and the
deployed contract all belong to the circuit that was audited.

The checks per build (:class:`~calcm.zk.setup.Build`), one module per concern, gathered here
under one name for :mod:`calcm.audit.run`:

- :mod:`.setup_manifest`: manifest hashes (the files and circuit sources on disk are
  the ones the build recorded);
- :mod:`.setup_keys`: ``snarkjs powersoftau verify`` on the ptau, ``snarkjs zkey verify``
  against the r1cs and ptau, the verification key regenerated from the zkey (verdicts
  cached by sha256); a ``dev`` build (groth16py's single-party setup, no zkey, no ptau)
  is reported INSECURE-DEV, its ptau and zkey checks are SKIPs and :func:`dev_key_check`
  proves that its ``proving_key.ark`` and ``verification_key.json`` are a key pair of
  this r1cs instead;
- :mod:`.setup_verifier`: the Solidity verifier regenerates identically from the key;
- :mod:`.deployed_bytecode`: with ``--rpc`` and ``--address`` (or ``--registry``), the
  runtime bytecode on chain is the pinned solc's compilation of an audited verifier.
"""
from __future__ import annotations

from .deployed_bytecode import (REGISTRY_CHECK, REGISTRY_VERIFIERS, RpcUnavailable, connect,
                                deployed_check, expected_runtime, registry_check, registry_verifiers,
                                rpc_skipped)
from .setup_keys import dev_key_check, dev_setup_warning, ptau_check, vkey_check, zkey_check
from .setup_manifest import is_dev, manifest_check, ptau_path
from .setup_verifier import regenerate_verifier, verifier_check

__all__ = ["REGISTRY_CHECK", "REGISTRY_VERIFIERS", "RpcUnavailable", "connect", "deployed_check",
           "dev_key_check", "dev_setup_warning", "expected_runtime", "is_dev", "manifest_check",
           "ptau_check", "ptau_path", "regenerate_verifier", "registry_check", "registry_verifiers",
           "rpc_skipped", "verifier_check", "vkey_check", "zkey_check"]
