"""inclusion: a trader's leaf, its Merkle path to the recorded root, the model and the tier.

Three sources of the record: proof directories of the bundled book (public signals from the
prover's own ``batch_input``; fast), a real Groth16 proof of a small synthetic book (slow), and
the registry on anvil (slow; PLACEHOLDER verifiers as in tests/chain).
"""
from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.errors import InputError
from calcm.poseidon import account_commitment
from calcm.risk.fixed_margin import margin_fx
from calcm.trader.inclusion import inclusion, merkle_path, root_from_leaf
from calcm.zk.config import config_for_model
from calcm.zk.witness import venue_tree

from .conftest import FAST
from .helpers import book_for_model, tampered_book, write_batch_dirs, write_book


@pytest.fixture(scope="module")
def proofs(ctx, tmp_path_factory):
    return write_batch_dirs(ctx, tmp_path_factory.mktemp("proofs") / "proofs")


def test_merkle_path_reaches_the_venue_root(ctx):
    accounts = [ctx.encode(a) for a in ctx.book.accounts]
    tree = venue_tree(accounts, config_for_model(ctx.model, N=4, D=10))
    for i in (0, 5, len(accounts) - 1):
        assert root_from_leaf(account_commitment(accounts[i]), i, merkle_path(tree, i)) == tree.root
        assert root_from_leaf(account_commitment(accounts[i]) + 1, i, merkle_path(tree, i)) != tree.root


@pytest.mark.parametrize("account", ["basis_btc", "whale", "idle"])
def test_passes_for_a_bundled_account(ctx, proofs, account):
    res = inclusion(ctx, account, proof_dir=proofs)
    assert res.ok, res.to_json()
    assert [c.name for c in res.checks] == ["leaf", "merkle_path", "model", "tier"]
    assert res.recorded_tier == margin_fx(ctx.model, ctx.encode(ctx.account(account)[1])).tier


def test_fails_for_a_tampered_position_or_salt(ctx, proofs):
    # A new salt changes only the leaf; a new position may also change the model's tier.
    for bk, also in ((tampered_book(ctx.book, "whale", position=("BTC-PERP", 99.0)), {"tier"}),
                     (tampered_book(ctx.book, "whale", salt=12345), set())):
        res = inclusion(replace(ctx, book=bk), "whale", proof_dir=proofs)
        assert not res.ok and res.failure.name == "leaf"
        assert {"leaf", "merkle_path"} <= {c.name for c in res.checks if not c.ok} <= {"leaf", "merkle_path"} | also


def test_fails_for_a_recorded_tier_the_model_does_not_give(ctx, tmp_path):
    a = [x.id for x in ctx.book.accounts].index("whale")
    true = [margin_fx(ctx.model, ctx.encode(x)).tier for x in ctx.book.accounts[a - a % 4:a - a % 4 + 4]]
    lie = list(true)
    lie[a % 4] = (true[a % 4] + 1) % 4
    d = write_batch_dirs(ctx, tmp_path / "p", tiers={a // 4: lie})
    res = inclusion(ctx, "whale", proof_dir=d)
    assert res.failure.name == "tier" and res.recorded_tier == lie[a % 4]


def test_fails_for_another_model(ctx, proofs, export_dir, tmp_path):
    other = replace(ctx, commitments=ctx.commitments | {"lin_commitment": "1"})
    assert inclusion(other, "whale", proof_dir=proofs).failure.name == "model"


def test_cli_pass_and_fail_exit_codes(ctx, proofs, tmp_path, export_dir):
    ok = CliRunner().invoke(main, ["inclusion", "--account", "whale", "--proof-dir", str(proofs), *FAST])
    assert ok.exit_code == 0, ok.output
    js = CliRunner().invoke(main, ["inclusion", "--account", "whale", "--proof-dir", str(proofs),
                                   "--model", str(export_dir), "--json"])
    assert js.exit_code == 0 and json.loads(js.stdout)["ok"] is True
    bad = write_book(tampered_book(ctx.book, "whale", position=("BTC-PERP", 99.0)), tmp_path / "t.json")
    r = CliRunner().invoke(main, ["inclusion", "--account", "whale", "--proof-dir", str(proofs),
                                  "--book", str(bad), "--model", str(export_dir)])
    assert r.exit_code == 3
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and "leaf check failed" in line and "Traceback" not in r.output


@pytest.mark.parametrize("args, code, needle", [
    ([], 2, "--proof-dir"),
    (["--rpc", "http://127.0.0.1:9"], 2, "--registry"),
    (["--proof-dir", "/nonexistent"], 2, "not a directory"),
    (["--rpc", "http://127.0.0.1:9", "--registry", "nope"], 2, "not an address"),
    (["--rpc", "http://127.0.0.1:9", "--registry", "0x" + "11" * 20], 4, "node does not answer"),
])
def test_cli_bad_input_and_dead_chain(args, code, needle):
    r = CliRunner().invoke(main, ["inclusion", "--account", "whale", *args, *FAST])
    assert r.exit_code == code, r.output
    assert needle in r.stderr and "Traceback" not in r.output


def test_function_needs_exactly_one_source(ctx, proofs):
    with pytest.raises(InputError):
        inclusion(ctx, "whale")


# ---- a real Groth16 proof (small synthetic book; dev setup, cached by source hash) ----------

@pytest.mark.slow
def test_real_small_proof(tmp_path):
    from calcm.poseidon import lin_commitment, opt_commitment
    from calcm.trader.context import TraderContext
    from calcm.zk.config import SMALL
    from calcm.zk.prove import ContextInfo, prove_accounts
    from calcm.zk.setup import build_cache_dir, setup
    from calcm.zk.synthetic import random_account, random_model

    d = build_cache_dir(SMALL)
    build, _ = setup(SMALL, d.with_name(d.name + "-dev"), mode="dev")
    rng = random.Random(15)
    model = random_model(SMALL, rng)
    accounts = [random_account(SMALL, rng, model) for _ in range(3)]
    names = ["ann", "bob", "cy"]
    book = book_for_model(model, accounts, names)
    ctx = TraderContext(book, model, "synthetic", (), (), {"lin_commitment": str(lin_commitment(model)),
                                                          "opt_commitment": str(opt_commitment(model))})
    assert [ctx.encode(a) for a in book.accounts] == accounts
    out = tmp_path / "proofs"
    prove_accounts(build, model, accounts, names, out, ContextInfo(31337, "0x" + "ab" * 20, 9), backend="arkworks")
    for n in names:
        res = inclusion(ctx, n, proof_dir=out, verify_proof=True)
        assert res.ok, res.to_json()
        assert [c.name for c in res.checks] == ["leaf", "merkle_path", "model", "tier", "proof"]
    bad = replace(ctx, book=tampered_book(book, "cy", salt=accounts[2].salt + 1))
    assert inclusion(bad, "cy", proof_dir=out).failure.name == "leaf"


# ---- the registry on anvil ---------------------------------------------------------------------

@pytest.mark.slow
def test_on_chain_record(ctx, tmp_path, export_dir, monkeypatch):
    pytest.importorskip("calcm.chain.anvil")
    from calcm.chain.anvil import Anvil
    from calcm.chain.evm import http_web3
    from calcm.trader.registry_reads import connect

    import chain.helpers
    from chain.helpers import PRICES, World
    # the registry holds the published model's parameter hash (the placeholder proofs carry it)
    monkeypatch.setattr(chain.helpers, "PARAM_HASH", int(ctx.commitments["param_hash"]))

    builds, arts = _placeholders(tmp_path)
    sub = replace(ctx.book, accounts=ctx.book.accounts[:4])
    c4 = replace(ctx, book=sub)
    with Anvil() as node:
        w3 = http_web3(node.url)
        wd = World(w3, builds, arts).setup()
        wd.post_all(PRICES, w3.eth.get_block("latest").timestamp)
        before_model = w3.eth.block_number
        wd.reval(int(ctx.commitments["lin_commitment"]))
        wd.options(base=int(ctx.commitments["opt_commitment"]) - (wd.n_parts - 1))
        accounts = [c4.encode(a) for a in sub.accounts]
        tree = venue_tree(accounts, config_for_model(ctx.model, N=2, D=10))
        wd.root = tree.root
        wd.reg.post_accounts_root(tree.root)
        tiers = [margin_fx(ctx.model, a).tier for a in accounts]
        wd.submit(wd.batch(0, tiers[:2]))
        wd.submit(wd.batch(1, [tiers[2], (tiers[3] + 1) % 4]))         # a lying record for account 3
        reader = connect(node.url, wd.reg.address)
        for i in range(3):
            res = inclusion(c4, sub.accounts[i].id, reader=reader, owner=wd.owners[i])
            assert res.ok, res.to_json()
        assert inclusion(c4, sub.accounts[3].id, reader=reader, owner=wd.owners[3]).failure.name == "tier"
        bad = replace(c4, book=tampered_book(sub, sub.accounts[0].id, salt=7))
        assert inclusion(bad, sub.accounts[0].id, reader=reader, owner=wd.owners[0]).failure.name == "merkle_path"
        # the CLI, from the export, with exit codes 0 and 3
        bk = write_book(sub, tmp_path / "sub.json")
        base = ["inclusion", "--rpc", node.url, "--registry", wd.reg.address, "--book", str(bk),
                "--model", str(export_dir)]
        r = CliRunner().invoke(main, [*base, "--account", sub.accounts[1].id, "--owner", wd.owners[1]])
        assert r.exit_code == 0, r.output
        r = CliRunner().invoke(main, [*base, "--account", sub.accounts[3].id, "--owner", wd.owners[3]])
        assert r.exit_code == 3 and "tier check failed" in r.stderr
        # model export checked against the registry's commitments at a block
        exp = ["model", "export", "--rpc", node.url, "--registry", wd.reg.address, *FAST]
        r = CliRunner().invoke(main, [*exp, "--out", str(tmp_path / "bad"), "--block", str(before_model)])
        assert r.exit_code == 3 and "lin_commitment, opt_commitment" in r.stderr
        r = CliRunner().invoke(main, [*exp, "--out", str(tmp_path / "bad"), "--block", str(w3.eth.block_number + 99)])
        assert r.exit_code == 2 and "after the chain head" in r.stderr
        assert not (tmp_path / "bad").exists()
        head = w3.eth.block_number
        r = CliRunner().invoke(main, [*exp, "--out", str(tmp_path / "exp"), "--block", str(head)])
        assert r.exit_code == 0, r.output
        man = json.loads((tmp_path / "exp" / "manifest.json").read_text())
        assert man["origin"]["block"] == head and man["origin"]["recorded"]["param_hash"] == ctx.commitments["param_hash"]
        r = CliRunner().invoke(main, [*base[:-1], str(tmp_path / "exp"), "--account", sub.accounts[0].id,
                                      "--owner", wd.owners[0], "--json"])
        assert r.exit_code == 0 and json.loads(r.stdout)["ok"]


def _placeholders(tmp_path):
    from calcm.chain import encoding, placeholder
    from calcm.chain.contracts import compile_verifier, generate_verifier

    from chain.helpers import N_ASSETS, TAGS
    counts = {"margin": encoding.MARGIN_SIGNALS, "step": encoding.step_signal_count(N_ASSETS),
              "reval": encoding.reval_signal_count(N_ASSETS), "option": encoding.option_signal_count(N_ASSETS)}
    builds, arts = {}, {}
    for kind, n in counts.items():
        builds[kind] = placeholder.build(n, tag=TAGS[kind])
        arts[kind] = compile_verifier(generate_verifier(builds[kind].zkey, f"{kind}_verifier", tmp_path / kind))
    return builds, arts
