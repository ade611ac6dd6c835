"""Margin batches and records on the v3 registry, each rejection at its boundary (anvil, real
PLACEHOLDER proofs with the margin batch's 5 public signals)."""
from __future__ import annotations

import pytest

from calcm.chain import encoding, governance
from calcm.chain.contracts import REGISTRY, compile_registry
from calcm.chain.evm import mine_blocks
from calcm.chain.registry import RegistryRevert
from calcm.chain.transact import deploy_contract
from calcm.fixedpoint import FIELD_PRIME

from .helpers import MAX_AGE, PARAM_HASH, rejects

pytestmark = pytest.mark.slow


def test_fresh_for_exactly_max_age_blocks(ready):
    wd = ready
    b = wd.batch(0, [0, 3])
    mine_blocks(wd.w3, b[1] + MAX_AGE - 1 - wd.w3.eth.block_number)   # the tx mines +maxAge
    wd.submit(b)
    assert wd.reg.health(wd.owners[0])["valid"]
    mine_blocks(wd.w3, 1)                                             # maxAge + 1 blocks old
    assert not wd.reg.health(wd.owners[0])["valid"]
    with rejects("StaleBlock"):
        wd.submit(wd.batch(1, [0, 0], block=b[1]))


def test_future_block(ready):
    wd = ready
    with rejects("FutureBlock"):
        wd.submit(wd.batch(0, [0, 0], block=wd.w3.eth.block_number + 2))


def test_packed_result_checks(ready):
    wd = ready
    proof, block, version, group, packed = wd.batch(1, [1, 1])
    with rejects(r"GroupMismatch\(0, 1\)"):
        wd.reg.submit_margin_batch(proof, block, version, 0, packed)
    top = encoding.pack_result(1, [0, 0]) + (1 << (encoding.GROUP_BITS + encoding.SHAPE_BITS + 2 * 2))
    with rejects("ResultOutOfRange"):
        wd.reg.submit_margin_batch(proof, block, version, 1, top)
    with rejects("NotInField"):
        wd.reg.submit_margin_batch(proof, block, version, 1, FIELD_PRIME + 1)
    wd.reg.submit_margin_batch(proof, block, version, 1, packed)
    assert wd.reg.record(1)["tiers"] == [1, 1]


@pytest.mark.parametrize("n", [1, 4, 64])
def test_wrong_batch_size_reverts_wrong_shape(ready, n):
    """L1: packedResult encodes the circuit's N; only N == groupSize (2) is accepted."""
    wd = ready
    proof, block, version, _, _ = wd.batch(0, [0, 0])
    with rejects(rf"WrongShape\({n}, 2\)"):
        wd.reg.submit_margin_batch(proof, block, version, 0, encoding.pack_result(0, [0] * n))


def test_new_root_invalidates_every_older_record(ready):
    """A6 + L4: a new accounts root invalidates all records of older roots (no leaf list)."""
    wd = ready
    wd.submit(wd.batch(0, [0, 0]))
    wd.submit(wd.batch(1, [0, 0]))
    assert all(wd.reg.health(o)["valid"] for o in wd.owners)
    wd.reg.post_accounts_root(wd.root + 1)
    assert not any(wd.reg.health(o)["valid"] for o in wd.owners)
    assert not any(wd.reg.f.canWithdraw(o).call() for o in wd.owners)
    with rejects("InvalidProof"):            # the old proof binds the old root
        wd.submit(wd.batch(0, [0, 0]))


def test_no_linear_commitment_after_a_model_upgrade(ready):
    wd = ready
    governance.enact(wd.reg, wd.reg.f.upgradeModel(PARAM_HASH, 0x77, wd.d0))
    with rejects(r"NoModelCommitment\(%d,\)" % wd.reg.model().version):
        wd.submit(wd.batch(0, [0, 0]))


def test_roles_and_registration(ready):
    wd = ready
    with pytest.raises(RegistryRevert, match="^AccessControlUnauthorizedAccount"):
        wd.reg.post_accounts_root(1, sender=wd.outsider)
    with rejects("KeeperActive"):
        wd.submit(wd.batch(0, [0, 0]), sender=wd.outsider)
    with rejects("AlreadyRegistered"):
        wd.reg.register_account(wd.owners[0], 9)
    with rejects(r"LeafTaken\(1,\)"):
        wd.reg.register_account(wd.outsider, 1)


@pytest.mark.parametrize("group_size, n_assets, max_age", [(0, 1, 16), (3, 1, 16), (128, 1, 16),
                                                           (2, 0, 16), (2, 1, 2**16)])
def test_constructor_rejects_bad_config(w3, group_size, n_assets, max_age):
    from eth_utils import function_signature_to_4byte_selector as sel
    from web3.exceptions import ContractCustomError
    art = compile_registry()[REGISTRY]
    with pytest.raises(ContractCustomError) as exc:
        deploy_contract(w3, art, w3.eth.accounts[0], group_size, n_assets, 0, max_age, 3600, 3600, 50)
    assert exc.value.data == "0x" + sel("MarginRegistry__BadConfig()").hex()


def test_selectors_match_the_placeholder_verifiers(world, v2_placeholders):
    from eth_utils import function_signature_to_4byte_selector as sel
    _, arts = v2_placeholders
    f = world.reg.f
    for kind, fn in (("step", f.stepSelector), ("reval", f.revalSelector),
                     ("option", f.optionSelector)):
        n = [i for i in arts[kind].abi if i.get("name") == "verifyProof"][0]["inputs"][-1]["type"]
        assert sel(f"verifyProof(uint256[2],uint256[2][2],uint256[2],{n})") == fn().call()
