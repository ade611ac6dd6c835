"""Transaction signers: the keeper's key from an encrypted keystore or the environment.

A keeper key never sits in a plaintext file. It comes from one of (first found wins):

1. an **encrypted keystore** (Ethereum keystore v3 JSON, :meth:`eth_account.Account.encrypt`:
   scrypt or pbkdf2 KDF, AES-128-CTR, keccak MAC), with its passphrase from the environment
   variable :data:`PASSWORD_ENV` or, on a terminal, a hidden prompt;
2. an **environment signer**: the hex private key in :data:`KEY_ENV` (for process managers
   and secret stores that inject environment variables; never written to disk by calcm);
3. otherwise the node's **unlocked accounts** (anvil / eth-tester dev accounts; dev only).

:func:`install` adds web3's sign-and-send-raw middleware for the account, so every
``eth_sendTransaction`` from its address is signed locally and sent with
``eth_sendRawTransaction``: the rest of calcm (:class:`~calcm.chain.transact.Transactor`)
is unchanged. :func:`can_sign` tells whether a Web3 can send from an address either way.

Invariant: nothing here writes a key in plaintext; :func:`write_keystore` writes only the
encrypted JSON, mode 0600, atomically.
"""
from __future__ import annotations

import json
import os
import weakref
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from .. import atomic
from ..errors import InputError

#: Hex private key of an environment signer (``0x`` + 64 hex digits).
KEY_ENV = "CALCM_KEEPER_KEY"
#: Passphrase of the keystore given with ``--keystore``.
PASSWORD_ENV = "CALCM_KEYSTORE_PASSWORD"

#: Addresses each Web3 signs for locally (filled by :func:`install`).
_LOCAL: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()


def read_keystore(path: str | Path, password: str | None = None, prompt=None,
                  env: dict | None = None) -> LocalAccount:
    """Decrypt the keystore at ``path``.

    The passphrase is ``password``, else ``env[PASSWORD_ENV]`` (default: ``os.environ``),
    else ``prompt()`` (the CLI passes a hidden terminal prompt); none of them is an
    :class:`InputError`, and so is a wrong passphrase or a file that is not a keystore.
    """
    path = Path(path)
    env = os.environ if env is None else env
    try:
        blob = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", "keystore file not found") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(str(path), "-", "-", f"not a keystore JSON file: {exc}") from None
    if not isinstance(blob, dict) or "crypto" not in blob and "Crypto" not in blob:
        raise InputError(str(path), "-", "crypto", "not an encrypted keystore (v3 JSON)")
    if password is None:
        password = env.get(PASSWORD_ENV)
    if password is None and prompt is not None:
        password = prompt()
    if password is None:
        raise InputError(str(path), "-", PASSWORD_ENV,
                         "no passphrase: set the variable or run on a terminal to be prompted")
    try:
        key = Account.decrypt(blob, password)
    except ValueError as exc:
        raise InputError(str(path), "-", "passphrase", f"cannot decrypt: {exc}") from None
    acct = Account.from_key(key)
    want = blob.get("address")
    if want and acct.address.lower().removeprefix("0x") != str(want).lower().removeprefix("0x"):
        raise InputError(str(path), "-", "address",
                         f"the key is {acct.address}, the file says {want}")
    return acct


def env_signer(env: dict | None = None) -> LocalAccount | None:
    """The account of ``env[KEY_ENV]`` (default: ``os.environ``), or None when unset."""
    env = os.environ if env is None else env
    raw = env.get(KEY_ENV)
    if not raw:
        return None
    try:
        return Account.from_key(raw.strip())
    except (ValueError, TypeError):
        # never echo the value: it is (almost) a key
        raise InputError("environment", KEY_ENV, "-", "not a hex private key (0x + 64 hex digits)") \
            from None


def keeper_signer(keystore: str | Path | None = None, prompt=None,
                  env: dict | None = None) -> LocalAccount | None:
    """The keeper's signer: the keystore if given, else the environment signer, else None
    (the node's unlocked accounts: dev nodes only). See the module docstring."""
    if keystore is not None:
        return read_keystore(keystore, prompt=prompt, env=env)
    return env_signer(env)


def write_keystore(key, path: str | Path, password: str, kdf: str = "scrypt",
                   iterations: int | None = None) -> Path:
    """Encrypt ``key`` (hex, bytes or a LocalAccount) to a keystore v3 file (mode 0600).

    ``kdf``/``iterations``: eth-account's (scrypt n = 2^18 by default; tests pass
    ``pbkdf2`` with few iterations for speed, never for a real key).
    """
    if isinstance(key, LocalAccount):
        key = key.key
    if not password:
        raise InputError(str(path), "-", "passphrase", "an empty passphrase encrypts nothing")
    blob = Account.encrypt(key, password, kdf=kdf, iterations=iterations)
    out = atomic.write_bytes(path, json.dumps(blob).encode())
    os.chmod(out, 0o600)
    return out


def install(w3, account: LocalAccount) -> str:
    """Sign every transaction ``w3`` sends from ``account.address`` locally (web3's
    sign-and-send-raw middleware, outermost layer); returns the address."""
    from web3.middleware import SignAndSendRawMiddlewareBuilder
    if account.address not in _LOCAL.get(w3, set()):
        w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
        _LOCAL.setdefault(w3, set()).add(account.address)
    return account.address


def can_sign(w3, address: str) -> bool:
    """Whether ``w3`` can send from ``address``: a local signer or an unlocked node account."""
    if address in _LOCAL.get(w3, set()):
        return True
    return address in w3.eth.accounts
