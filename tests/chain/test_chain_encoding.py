"""Encodings shared by Python and Solidity, checked on the same vectors (contract views on anvil)."""
from __future__ import annotations

import pytest
from eth_utils import function_signature_to_4byte_selector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calcm.chain import encoding
from calcm.chain.contracts import compile_registry
from calcm.chain.registry import (Registry, RegistryRevert, Roles, Transactor, deploy_contract,
                                  deploy_price_feeds)
from calcm.fixedpoint import FIELD_PRIME

#: Feed decimals of the price-packing registry: 0, below, at and above PRICE_SCALE's 6, and 36 (max).
DECIMALS = [0, 4, 6, 8, 18, 36, 8]


def _roles(w3):
    a = w3.eth.accounts
    return Roles(a[0], a[1], (a[2],))


@pytest.fixture(scope="module")
def arts():
    return compile_registry()


@pytest.fixture(scope="module")
def price_registry(w3, arts):
    """A registry over 7 feeds (two packed elements), one feed per decimals setting."""
    gov = w3.eth.accounts[0]
    feeds = []
    for d in DECIMALS:
        addr, _ = deploy_contract(w3, arts["MockPriceFeed"], gov, d, f"D{d}")
        feeds.append(w3.eth.contract(address=addr, abi=arts["MockPriceFeed"].abi))
    reg_addr, _ = deploy_contract(w3, arts["MarginRegistry"], gov, 2, len(DECIMALS), 0, 32, 10**9,
                                  3600, 50)
    reg = Registry(w3, reg_addr, arts["MarginRegistry"].abi, _roles(w3))
    reg.set_price_feeds([f.address for f in feeds])
    # the state's day is today: a revaluation (packedPrices) is not refused as StepDue
    reg.set_model_state(1, w3.eth.get_block("latest").timestamp // encoding.DAY)
    return reg, feeds


def _price_answers():
    """Answers whose converted price fits a lane, per feed (decimals d)."""
    def one(d):
        hi = (2**48 - 1) * 10**d // 10**6 if d >= 6 else (2**48 - 1) // 10 ** (6 - d)
        lo = 10 ** (d - 6) if d >= 6 else 1
        return st.integers(lo, hi)
    return st.tuples(*[one(d) for d in DECIMALS])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=_price_answers())
def test_packed_prices_match_python(price_registry, answers):
    reg, feeds = price_registry
    for f, a in zip(feeds, answers):
        reg.tx.send(f.functions.setAnswer(a), reg.roles.governance)
    want = encoding.pack_prices([encoding.feed_price_fx(a, d) for a, d in zip(answers, DECIMALS)])
    assert reg.packed_prices() == want
    assert len(want) == 2 and all(encoding.in_field(v) for v in want)


def test_price_conversion_rounds_down(price_registry):
    reg, feeds = price_registry
    answers = [5, 12_345, 7, 123_456_789, 10**18 + 999_999_999_999, 3 * 10**36 + 1, 99_999_999]
    for f, a in zip(feeds, answers):
        reg.tx.send(f.functions.setAnswer(a), reg.roles.governance)
    got = encoding.unpack_prices(reg.packed_prices(), len(DECIMALS))
    assert got == [5_000_000, 1_234_500, 7, 1_234_567, 1_000_000, 3_000_000, 999_999]


@given(group=st.integers(0, 2**32 - 1), tiers=st.lists(st.integers(0, 3), min_size=1, max_size=64))
def test_pack_result_roundtrip(group, tiers):
    packed = encoding.pack_result(group, tiers)
    assert encoding.unpack_result(packed, len(tiers)) == (group, tiers)
    assert (packed >> 32) & 0xFF == len(tiers)                       # N binds the batch size
    assert packed < 2**(40 + 128) < FIELD_PRIME
    with pytest.raises(ValueError):                                  # bits above the N tiers
        encoding.unpack_result(packed | (1 << (40 + 2 * len(tiers))), len(tiers))
    with pytest.raises(ValueError):                                  # another batch size
        encoding.unpack_result(packed, len(tiers) + 1)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(block=st.integers(0, 2**256 - 1))
def test_context_matches_python(price_registry, w3, block):
    reg, _ = price_registry
    ctx = reg.context(block)
    assert ctx == encoding.batch_context(w3.eth.chain_id, reg.address, block)
    assert ctx < 2**253 < FIELD_PRIME


@pytest.mark.parametrize("n_assets", [1, 5, 6, 11])
def test_model_selectors_match_signal_counts(w3, arts, n_assets):
    gov = w3.eth.accounts[0]
    addr, _ = deploy_contract(w3, arts["MarginRegistry"], gov, 1, n_assets, 0, 32, 60, 60, 50)
    f = w3.eth.contract(address=addr, abi=arts["MarginRegistry"].abi).functions
    k = -(-n_assets // 5)
    assert (encoding.step_signal_count(n_assets), encoding.reval_signal_count(n_assets),
            encoding.option_signal_count(n_assets)) == (5 + k, 4 + k, 5 + k)
    for fn, n in ((f.stepSelector, 5 + k), (f.revalSelector, 4 + k), (f.optionSelector, 5 + k)):
        sig = f"verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[{n}])"
        assert fn().call() == function_signature_to_4byte_selector(sig)


@pytest.mark.parametrize("group_size,n_assets", [(0, 1), (3, 1), (128, 1), (2, 0)])
def test_constructor_rejects_bad_config(w3, arts, group_size, n_assets):
    art = arts["MarginRegistry"]
    c = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    with pytest.raises(RegistryRevert, match="^MarginRegistry__BadConfig"):
        Transactor(w3, art.abi).send(c.constructor(group_size, n_assets, 0, 32, 60, 60, 50),
                                     w3.eth.accounts[0])


@pytest.mark.parametrize("group_size", [1, 64])
def test_constructor_accepts_group_size_bounds(w3, arts, group_size):
    addr, _ = deploy_contract(w3, arts["MarginRegistry"], w3.eth.accounts[0], group_size, 1, 0, 32,
                              60, 60, 50)
    reg = w3.eth.contract(address=addr, abi=arts["MarginRegistry"].abi)
    assert reg.functions.groupSize().call() == group_size


def test_feed_decimals_bound(w3, arts):
    gov = w3.eth.accounts[0]
    addrs = [deploy_contract(w3, arts["MockPriceFeed"], gov, d, "x")[0] for d in (36, 37)]
    reg_addr, _ = deploy_contract(w3, arts["MarginRegistry"], gov, 1, 1, 0, 32, 60, 60, 50)
    reg = Registry(w3, reg_addr, arts["MarginRegistry"].abi, _roles(w3))
    reg.set_price_feeds([addrs[0]])
    with pytest.raises(RegistryRevert, match="MarginRegistry__BadConfig"):
        reg.set_price_feeds([addrs[1]])


def test_python_price_conversion_boundaries():
    assert encoding.feed_price_fx((2**48 - 1) * 100, 8) == 2**48 - 1
    assert encoding.feed_price_fx(100, 8) == 1
    for answer, d in ((2**48 * 100, 8), (0, 8), (-1, 8), (99, 8)):
        with pytest.raises(ValueError):
            encoding.feed_price_fx(answer, d)
    assert encoding.pack_prices([1, 2, 3, 4, 5, 6]) == [1 + (2 << 50) + (3 << 100) + (4 << 150)
                                                       + (5 << 200), 6]
    assert encoding.unpack_prices(encoding.pack_prices([7, 2**50 - 1]), 2) == [7, 2**50 - 1]


def test_deploy_price_feeds_sets_answers(w3, arts):
    addrs, _ = deploy_price_feeds(w3, w3.eth.accounts[0], [60_000.5, 0.25], artifacts=arts)
    f = w3.eth.contract(address=addrs[1], abi=arts["MockPriceFeed"].abi)
    rid, answer, _, updated, _ = f.functions.latestRoundData().call()
    assert (rid, answer, f.functions.decimals().call()) == (1, 25_000_000, 8)
    assert updated == w3.eth.get_block("latest").timestamp


def test_huge_answers_are_bad_prices_not_overflows(price_registry):
    """A 0-decimals feed answering 2**255 - 1 must be a named PriceOutOfRange, not a panic."""
    reg, feeds = price_registry
    for a in (2**255 - 1, 2**200):
        reg.tx.send(feeds[0].functions.setAnswer(a), reg.roles.governance)
        with pytest.raises(RegistryRevert, match="^MarginRegistry__PriceOutOfRange"):
            reg.packed_prices()
        with pytest.raises(ValueError):
            encoding.feed_price_fx(a, DECIMALS[0])
