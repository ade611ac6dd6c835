"""Keeper keys: an encrypted keystore (passphrase from the environment or a prompt) or an
environment signer, signed locally and sent raw to a node that holds no key for them; bad
keys are one line naming the file or variable, never echoing a key; and no plaintext key
file is tracked in the repository (anvil's public dev keys only where marked dev-only)."""
from __future__ import annotations

import json
import re
import stat
import subprocess

import pytest
from click.testing import CliRunner
from eth_account import Account

from calcm.chain import signer
from calcm.chain.anvil import Anvil
from calcm.chain.evm import http_web3
from calcm.cli import main
from calcm.errors import InputError
from calcm.paths import REPO_ROOT

#: Low-cost KDF for the tests only (a real keystore uses scrypt's default n = 2^18).
FAST = {"kdf": "pbkdf2", "iterations": 2}


@pytest.fixture
def account():
    return Account.create("calcm keeper test")


def test_keystore_round_trip_and_errors(tmp_path, account):
    path = signer.write_keystore(account, tmp_path / "keeper.json", "correct horse", **FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert account.key.hex().removeprefix("0x") not in text          # encrypted, not plaintext
    env = {signer.PASSWORD_ENV: "correct horse"}
    assert signer.read_keystore(path, env=env).address == account.address
    assert signer.keeper_signer(path, env=env).key == account.key
    # the prompt is asked only when the variable is unset
    assert signer.read_keystore(path, env={}, prompt=lambda: "correct horse").address == account.address
    with pytest.raises(InputError, match="passphrase: cannot decrypt"):
        signer.read_keystore(path, env={signer.PASSWORD_ENV: "wrong"})
    with pytest.raises(InputError, match=signer.PASSWORD_ENV):
        signer.read_keystore(path, env={}, prompt=lambda: None)
    with pytest.raises(InputError, match="keystore file not found"):
        signer.read_keystore(tmp_path / "missing.json", env=env)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"private_key": account.key.hex()}))
    with pytest.raises(InputError, match="not an encrypted keystore"):
        signer.read_keystore(plain, env=env)
    other = json.loads(text)
    other["address"] = "11" * 20
    (tmp_path / "other.json").write_text(json.dumps(other))
    with pytest.raises(InputError, match="the file says"):
        signer.read_keystore(tmp_path / "other.json", env=env)
    with pytest.raises(InputError, match="empty passphrase"):
        signer.write_keystore(account, tmp_path / "k2.json", "", **FAST)


def test_env_signer(account):
    assert signer.env_signer({}) is None
    assert signer.env_signer({signer.KEY_ENV: account.key.hex()}).address == account.address
    assert signer.keeper_signer(None, env={signer.KEY_ENV: account.key.hex()}).address == account.address
    with pytest.raises(InputError) as exc:
        signer.env_signer({signer.KEY_ENV: "0xnot-a-key-deadbeef"})
    assert signer.KEY_ENV in str(exc.value) and "deadbeef" not in str(exc.value)


def test_local_signer_sends_raw_to_a_node_without_the_key(tmp_path, account):
    with Anvil() as node:
        w3 = http_web3(node.url)
        assert account.address not in w3.eth.accounts
        assert not signer.can_sign(w3, account.address)
        w3.provider.make_request("anvil_setBalance", [account.address, hex(10**18)])
        signer.install(w3, account)
        signer.install(w3, account)                  # idempotent: one middleware
        assert signer.can_sign(w3, account.address)
        to = w3.eth.accounts[5]
        before = w3.eth.get_balance(to)
        tx = w3.eth.send_transaction({"from": account.address, "to": to, "value": 12345})
        receipt = w3.eth.wait_for_transaction_receipt(tx)
        assert receipt.status == 1 and receipt["from"] == account.address
        assert w3.eth.get_balance(to) - before == 12345
        assert w3.eth.get_transaction(tx)["nonce"] == 0


def test_cli_keystore_errors_are_one_line(tmp_path, account):
    runner = CliRunner()
    # The paths exist (calcm checks every path before any work); the model is not a model file.
    (tmp_path / "model.json").write_text("{}")
    (tmp_path / "book.json").write_text("{}")
    base = ["keeper", "--rpc", "http://127.0.0.1:9", "--registry", "0x" + "11" * 20,
            "--model", str(tmp_path / "model.json"), "--book", str(tmp_path / "book.json"),
            "--state", str(tmp_path / "k.sqlite")]
    res = runner.invoke(main, base + ["--keystore", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "nope.json" in res.stderr and "file not found" in res.stderr
    path = signer.write_keystore(account, tmp_path / "keeper.json", "pw", **FAST)
    res = runner.invoke(main, base + ["--keystore", str(path)], env={signer.PASSWORD_ENV: "bad"})
    assert res.exit_code == 2 and "cannot decrypt" in res.stderr, res.output
    res = runner.invoke(main, base, env={signer.KEY_ENV: "0x1234"})
    assert res.exit_code == 2 and signer.KEY_ENV in res.stderr and "0x1234" not in res.stderr
    # a good keystore gets past the key: the next error is the (invalid) model file
    res = runner.invoke(main, base + ["--keystore", str(path)], env={signer.PASSWORD_ENV: "pw"})
    assert res.exit_code == 2 and "model.json" in res.stderr and "cannot decrypt" not in res.stderr


#: Private keys printed by anvil for its dev accounts: public, allowed only where the line or
#: the file says so (dev-only / anvil).
_HEX64 = re.compile(r"(?<![0-9a-fA-Fx])(?:0x)?([0-9a-fA-F]{64})(?![0-9a-fA-F])")
_KEY_WORDS = re.compile(r"priv(ate)?[_ -]?key|secret[_ -]?key|mnemonic|PRIVATE KEY-----", re.I)


def test_no_plaintext_key_file_in_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    found = []
    for name in files:
        if name.startswith(("fixtures/", "node_modules/")) or name.endswith((".csv", ".ptau", ".zkey")):
            continue
        p = REPO_ROOT / name
        try:
            text = p.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        if re.search(r"keystore|\.key$|\.pem$", name, re.I) and "crypto" not in text.lower():
            found.append(f"{name}: a key-like file that is not an encrypted keystore")
        for i, line in enumerate(text.splitlines(), 1):
            if _KEY_WORDS.search(line) and _HEX64.search(line) and \
                    not re.search(r"dev[- ]only|anvil", line, re.I):
                found.append(f"{name}:{i}: a private key in plaintext")
    assert not found, found
