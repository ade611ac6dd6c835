"""Poseidon, the sponge and the accounts tree: Python (calcm.poseidon) vs the circuit witness."""
from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calcm.fixedpoint import FIELD_PRIME
from calcm.risk.fixed_margin import AccountFx
from calcm import poseidon as P
from calcm.zk.toolchain import snarkjs
from calcm.zk.wtns import read_sym, read_wtns

from .conftest import compile_harness

pytestmark = pytest.mark.slow


def test_known_vector():
    # circomlibjs' published vector for Poseidon([1, 2]).
    assert P.poseidon([1, 2]) == 7853200120776062878684798364095072458815029376092732009249414926327459813530


def test_constants_shapes_validated():
    for t in range(2, 18):
        prm = P.params(t)
        assert len(prm.C) == 8 * t + P.N_ROUNDS_P[t - 2]
        assert len(prm.S) == P.N_ROUNDS_P[t - 2] * (2 * t - 1)
        assert len(prm.M) == t and all(len(r) == t for r in prm.M)
    with pytest.raises(ValueError):
        P.params(18)


def test_constants_file_with_wrong_shape_is_rejected(tmp_path):
    text = P.CONSTANTS_FILE.read_text()
    # Drop one constant of POSEIDON_C(2): the loader must refuse, not hash with garbage.
    first = text.index("0x", text.index("function POSEIDON_C"))
    broken = text[:first] + text[text.index(",", first) + 1:]
    bad = tmp_path / "poseidon_constants.circom"
    bad.write_text(broken)
    with pytest.raises(ValueError, match=r"POSEIDON_C\(2\)"):
        P._all_constants(str(bad))


def _harness_witness(tmp_path, xs, group, siblings):
    d = compile_harness("poseidon_vectors")
    inp = tmp_path / "in.json"
    inp.write_text(json.dumps({"x": [str(v) for v in xs], "group": str(group),
                               "siblings": [str(s) for s in siblings]}))
    snarkjs("wtns", "calculate", d / "poseidon_vectors_js" / "poseidon_vectors.wasm", inp, tmp_path / "w.wtns")
    wit, sym = read_wtns(tmp_path / "w.wtns"), read_sym(d / "poseidon_vectors.sym")
    return lambda name: wit[sym[f"main.{name}"]]


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_python_matches_circuit(tmp_path_factory, seed):
    tmp_path = tmp_path_factory.mktemp("poseidon")
    rng = random.Random(seed)
    # Field edge values as well as random ones.
    xs = [rng.choice([0, 1, FIELD_PRIME - 1, rng.randrange(FIELD_PRIME)]) for _ in range(31)]
    group = rng.randrange(4)
    # The tree: 16 leaves, group size 4 (leaves x[0..3] in group `group`), a 2-level path.
    leaves = [rng.randrange(FIELD_PRIME) for _ in range(16)]
    leaves[group * 4:(group + 1) * 4] = xs[:4]
    tree = P.AccountsTree(leaves, 4)
    path = tree.group_path(group, 4)
    out = _harness_witness(tmp_path, xs, group, path)
    for j, w in enumerate((1, 2, 3, 16)):
        assert out(f"h[{j}]") == P.poseidon(xs[:w]), f"Poseidon({w})"
    for j, n in enumerate((1, 15, 31)):
        assert out(f"sponge[{j}]") == P.poseidon_sponge(xs[:n]), f"sponge({n})"
    assert out("subtree") == tree.group_root(group, 4)
    assert out("root") == tree.root == P.AccountsTree.root_from_path(tree.group_root(group, 4), group, path)


def test_sponge_padding_and_lengths():
    assert P.sponge_calls(15) == 1 and P.sponge_calls(16) == 2
    # Different lengths with the same prefix differ only because lengths are hashed by callers;
    # the sponge itself zero-pads, which is why shapes are part of every encoding.
    assert P.poseidon_sponge([5]) == P.poseidon_sponge([5, 0])
    with pytest.raises(ValueError):
        P.poseidon_sponge([])


def test_tree_paths_for_every_group():
    leaves = [P.poseidon([i]) for i in range(11)]
    tree = P.AccountsTree(leaves, 4)
    for size in (1, 2, 4, 16):
        for g in range(tree.n_groups(size)):
            path = tree.group_path(g, size)
            assert len(path) == 4 - (size.bit_length() - 1)
            assert P.AccountsTree.root_from_path(tree.group_root(g, size), g, path) == tree.root
    with pytest.raises(ValueError):
        tree.group_path(8, 2)
    with pytest.raises(ValueError):
        tree.group_root(0, 3)


def test_commitments_are_salted_and_order_sensitive():
    a = AccountFx((10, -20), (5,), salt=1)
    b = AccountFx((10, -20), (5,), salt=2)
    c = AccountFx((-20, 10), (5,), salt=1)
    assert len({P.account_commitment(x) for x in (a, b, c)}) == 3
    # A shuffle of accounts changes the root (positions in the tree are identities).
    l1 = [P.account_commitment(x) for x in (a, b, c)]
    assert P.AccountsTree(l1, 2).root != P.AccountsTree(l1[::-1], 2).root
