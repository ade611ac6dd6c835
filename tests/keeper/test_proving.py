"""CircuitProvers (calcm.keeper.proving): each of the four v2 proofs on the test profile's
real builds, its public signals equal to the Python reference's (fixed-point model,
commitments, the registry's price packing), verified by snarkjs's key with two backends."""
from __future__ import annotations

import pytest

from calcm.chain import encoding
from calcm.keeper.demo import DemoSettings, load_history, published_for
from calcm.keeper.model import lin_at, options_at, version_model
from calcm.keeper.proving import CircuitProvers, setup_builds
from calcm.risk.fixed_margin import margin_fx
from calcm.risk.modelfx import step
from calcm.zk.backend import get_backend

from .conftest import TEST_PROFILE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def provers(test_book):
    s = DemoSettings(group_size=2, scenarios=TEST_PROFILE)
    pm = published_for(s, load_history("fixture"), test_book, s.window()[0])
    builds = setup_builds(pm.params, pm.model, len(test_book.accounts), 2)
    return CircuitProvers(pm.params, builds), pm


def _verified(provers, kind, out):
    vkey = provers.builds.load(kind).vkey
    for name in ("snarkjs", "arkworks"):
        assert get_backend(name).verify(vkey, out.proof, out.public), (kind, name)


def test_model_proofs_match_the_reference(provers):
    cp, pm = provers
    p, g = pm.params, pm.genesis
    close = tuple(int(x * 1.02) for x in g.price)
    ctx = encoding.batch_context(31337, "0x" + "11" * 20, 7)
    out = cp.prove_step(g, close, ctx)
    ref = step(g, close, p)
    assert out.new_state == ref.state
    assert out.public == [g.commitment(), ref.state.commitment(), ref.lin_commitment,
                          p.param_hash(), ctx] + encoding.pack_prices(list(close))
    _verified(cp, "step", out)

    prices = tuple(int(x * 0.97) for x in close)
    out = cp.prove_reval(ref.state, prices, ctx)
    assert out.outputs["lin"] == lin_at(p, ref.state, prices)[1]
    _verified(cp, "reval", out)

    parts, opt = options_at(p, ref.state, prices)
    prev = 0
    for j, part in enumerate(parts):
        out = cp.prove_option_part(ref.state, prices, j, prev)
        assert out.public[:5] == [ref.state.commitment(), prev, part.next, p.param_hash(), j]
        prev = out.outputs["next_sponge"]
        _verified(cp, "option", out)
    assert prev == opt


def test_margin_batch_matches_the_reference(provers, test_book):
    from calcm.risk.fixed_margin import encode_book_accounts
    cp, pm = provers
    accounts = tuple(encode_book_accounts(test_book))
    model = version_model(pm.params, pm.genesis, pm.genesis.price, pm.genesis.price)
    out = cp.prove_margin_batch(model, accounts, 1, 12345)
    assert out.outputs["tiers"][:1] == [margin_fx(model, accounts[2]).tier]
    assert out.public[1:4] == [lin_at(pm.params, pm.genesis, pm.genesis.price)[1],
                               options_at(pm.params, pm.genesis, pm.genesis.price)[1], 12345]
    _verified(cp, "margin", out)
