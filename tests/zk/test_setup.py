"""Build manifest, reproducibility (same sources + ptau -> same r1cs, zkey and vkey) and ptau checks."""
from __future__ import annotations

import json

import pytest

from calcm.errors import InputError
from calcm.zk import ptau as P
from calcm.zk.config import CircuitConfig
from calcm.zk.setup import Build, cached_build, compile_only, setup

pytestmark = pytest.mark.slow

TINY = CircuitConfig("tiny", N=1, D=1, S=2, n=1, U=1, m=1, k=1)


def test_manifest_matches_files(small_build):
    m = small_build.manifest
    small_build.check_files()
    assert m["ptau"]["sha256"] == P.sha256_file(P.Path(m["ptau"]["path"]))
    assert m["vkey"] == json.loads(small_build.vkey_path.read_text())
    assert m["r1cs"]["constraints"] == small_build.constraints
    assert "circuits/margin_batch.circom" in m["circuit_sources"]
    assert m["dev_only"] is True and m["config"]["name"] == "small"


def test_setup_is_reproducible_and_checkable(tmp_path):
    # Two independent builds (the cached one may come from an earlier session) agree byte for byte.
    a = cached_build(TINY)
    b, reused = setup(TINY, tmp_path / "b", reuse=False)
    assert not reused
    for key in ("r1cs", "zkey", "wasm"):
        assert a.manifest[key]["sha256"] == b.manifest[key]["sha256"], key
    assert a.manifest["vkey"] == b.manifest["vkey"]
    # Compilation itself is deterministic, not only cached.
    compile_only(TINY, tmp_path / "c")
    assert P.sha256_file(tmp_path / "c" / "main.r1cs") == a.manifest["r1cs"]["sha256"]
    # A second setup into the same directory is a no-op; a tampered zkey is detected.
    again, reused = setup(TINY, tmp_path / "b")
    assert reused
    data = bytearray(b.zkey.read_bytes())
    data[-1] ^= 1
    b.zkey.write_bytes(bytes(data))
    with pytest.raises(InputError, match="sha256"):
        Build.load(tmp_path / "b").check_files()


def test_missing_build_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="calcm setup"):
        Build.load(tmp_path)


def test_dev_ptau_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("CALCM_CACHE", str(tmp_path / "c1"))
    first = P.generate_dev_ptau(4)
    monkeypatch.setenv("CALCM_CACHE", str(tmp_path / "c2"))
    second = P.generate_dev_ptau(4)
    assert first.sha256 == second.sha256 and first.power == 4
    # The ceremony path verifies a good file ...
    monkeypatch.setenv("CALCM_CACHE", str(tmp_path / "c3"))
    assert P.ceremony_ptau(second.path, 3).source == "ceremony"
    # ... and refuses a corrupted one, a too-small one and a non-ptau file.
    bad = tmp_path / "bad.ptau"
    data = bytearray(second.path.read_bytes())
    data[len(data) // 2] ^= 0x55
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="verify"):
        P.ceremony_ptau(bad, 3)
    with pytest.raises(InputError, match="power 4 is too small"):
        P.ceremony_ptau(second.path, 5)
    junk = tmp_path / "junk.ptau"
    junk.write_bytes(b"not a ptau")
    with pytest.raises(InputError):
        P.ceremony_ptau(junk, 3)


def test_unprepared_ptau_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CALCM_CACHE", str(tmp_path))
    from calcm.zk.toolchain import snarkjs
    snarkjs("powersoftau", "new", "bn128", "3", tmp_path / "raw.ptau")
    with pytest.raises(InputError, match="phase 2"):
        P.ceremony_ptau(tmp_path / "raw.ptau", 3)
