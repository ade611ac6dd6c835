"""Margin batches and records on the v2 registry, each rejection at its boundary (anvil, real
PLACEHOLDER proofs with the margin batch's 5 public signals)."""
from __future__ import annotations

import pytest

from calcm.chain import encoding
from calcm.chain.contracts import REGISTRY, compile_registry
from calcm.chain.evm import mine_blocks
from calcm.chain.registry import RegistryRevert
from calcm.chain.transact import deploy_contract
from calcm.fixedpoint import FIELD_PRIME

from .helpers import MAX_AGE, PRICES

pytestmark = pytest.mark.slow


def _rejects(name):
    return pytest.raises(RegistryRevert, match=f"^MarginRegistry__{name}")


@pytest.fixture
def ready(fresh):
    """``fresh`` with a usable model version (a revaluation and the option parts)."""
    wd = fresh
    wd.post_all(PRICES, wd.w3.eth.get_block("latest").timestamp)
    wd.reval(0x1111)
    wd.options()
    return wd


def test_fresh_for_exactly_max_age_blocks(ready):
    wd = ready
    b = wd.batch(0, [0, 3])
    mine_blocks(wd.w3, b[1] + MAX_AGE - 1 - wd.w3.eth.block_number)   # the tx mines +maxAge
    wd.submit(b)
    assert wd.reg.health(wd.owners[0])["valid"]
    mine_blocks(wd.w3, 1)                                             # maxAge + 1 blocks old
    assert not wd.reg.health(wd.owners[0])["valid"]
    with _rejects("StaleBlock"):
        wd.submit(wd.batch(1, [0, 0], block=b[1]))


def test_future_block(ready):
    wd = ready
    with _rejects("FutureBlock"):
        wd.submit(wd.batch(0, [0, 0], block=wd.w3.eth.block_number + 2))


def test_packed_result_checks(ready):
    wd = ready
    proof, block, version, group, packed = wd.batch(1, [1, 1])
    with _rejects(r"GroupMismatch\(0, 1\)"):
        wd.reg.submit_margin_batch(proof, block, version, 0, packed)
    top = encoding.pack_result(1, [0, 0]) + (1 << (encoding.GROUP_BITS + 2 * 2))
    with _rejects("ResultOutOfRange"):
        wd.reg.submit_margin_batch(proof, block, version, 1, top)
    with _rejects("NotInField"):
        wd.reg.submit_margin_batch(proof, block, version, 1, FIELD_PRIME + 1)
    wd.reg.submit_margin_batch(proof, block, version, 1, packed)
    assert wd.reg.record(1)["tiers"] == [1, 1]


def test_changed_leaf_invalidates_only_itself(ready):
    wd = ready
    wd.submit(wd.batch(0, [0, 0]))
    wd.reg.post_accounts_root(wd.root + 1, [1])
    assert [wd.reg.health(o)["valid"] for o in wd.owners[:2]] == [True, False]


def test_no_linear_commitment_after_a_state_reset(ready):
    wd = ready
    wd.reg.set_model_state(0x77, wd.d0)
    with _rejects(r'NotConfigured\(.linCommitment.'):
        wd.submit(wd.batch(0, [0, 0]))


def test_roles_and_registration(ready):
    wd = ready
    with _rejects("NotVenue"):
        wd.reg.post_accounts_root(1, [], sender=wd.outsider)
    with _rejects("NotKeeper"):
        wd.submit(wd.batch(0, [0, 0]), sender=wd.outsider)
    with _rejects("AlreadyRegistered"):
        wd.reg.register_account(wd.owners[0], 9)
    with _rejects(r"LeafTaken\(1,\)"):
        wd.reg.register_account(wd.outsider, 1)


@pytest.mark.parametrize("group_size, n_assets", [(0, 1), (3, 1), (128, 1), (2, 0)])
def test_constructor_rejects_bad_config(w3, group_size, n_assets):
    from eth_utils import function_signature_to_4byte_selector as sel
    from web3.exceptions import ContractCustomError
    art = compile_registry()[REGISTRY]
    with pytest.raises(ContractCustomError) as exc:
        deploy_contract(w3, art, w3.eth.accounts[0], group_size, n_assets, 0, 16, 3600, 3600)
    assert exc.value.data == "0x" + sel("MarginRegistry__BadConfig()").hex()


def test_selectors_match_the_placeholder_verifiers(world, v2_placeholders):
    from eth_utils import function_signature_to_4byte_selector as sel
    _, arts = v2_placeholders
    f = world.reg.f
    for kind, fn in (("step", f.stepSelector), ("reval", f.revalSelector),
                     ("option", f.optionSelector)):
        n = [i for i in arts[kind].abi if i.get("name") == "verifyProof"][0]["inputs"][-1]["type"]
        assert sel(f"verifyProof(uint256[2],uint256[2][2],uint256[2],{n})") == fn().call()
