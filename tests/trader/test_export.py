"""model export: public files of the published model; whatif/explain/inclusion from them give the same numbers."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from calcm.cli import main
from calcm.trader.explain import explain
from calcm.trader.export import VerificationFailed, load_export
from calcm.trader.inclusion import inclusion
from calcm.trader.trades import CashMove, Trade
from calcm.trader.whatif import whatif

from .conftest import FAST
from .helpers import write_batch_dirs


def _fixed(doc):
    """Drop the float model's numbers (an export has no float model)."""
    if isinstance(doc, dict):
        return {k: _fixed(v) for k, v in doc.items() if k not in ("float", "float_es")}
    if isinstance(doc, list):
        return [_fixed(v) for v in doc]
    return doc


def test_export_files_and_commitments(ctx, export_dir):
    names = sorted(p.name for p in export_dir.iterdir())
    assert names == ["commitments.json", "manifest.json", "model.json", "params.json", "scenarios.json", "state.json"]
    com = json.loads((export_dir / "commitments.json").read_text())
    assert com == ctx.commitments
    loaded = load_export(export_dir, ctx.book)
    assert loaded.model == ctx.model and loaded.params == ctx.params and loaded.state == ctx.state
    assert loaded.genesis == ctx.genesis and loaded.scenario_names == ctx.scenario_names


def test_same_numbers_from_the_export(ctx, export_dir, tmp_path):
    ex = load_export(export_dir, ctx.book)
    req = ([Trade("BTC-PERP", 3.0), Trade("SOL-C-18-30D", -40.0)], [CashMove("USDC", 500.0)])
    assert _fixed(whatif(ex, "market_maker", *req).to_json()) == _fixed(whatif(ctx, "market_maker", *req).to_json())
    assert _fixed(explain(ex, "btc_option_seller").to_json()) == _fixed(explain(ctx, "btc_option_seller").to_json())
    proofs = write_batch_dirs(ctx, tmp_path / "proofs")
    a, b = inclusion(ex, "whale", proof_dir=proofs), inclusion(ctx, "whale", proof_dir=proofs)
    assert a.ok and a.to_json() == b.to_json()


def test_cli_whatif_from_the_export_equals_the_built_model(export_dir):
    args = ["whatif", "--account", "whale", "--trade", "ETH-PERP:-3", "--json"]
    built = CliRunner().invoke(main, [*args, *FAST])
    exported = CliRunner().invoke(main, [*args, "--model", str(export_dir)])
    assert built.exit_code == exported.exit_code == 0
    assert _fixed(json.loads(built.stdout)) == _fixed(json.loads(exported.stdout))


def test_a_tampered_export_is_refused_exit_3(export_dir, tmp_path, ctx):
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(export_dir, bad)
    m = json.loads((bad / "model.json").read_text())
    m["lin"][0][0] += 1
    (bad / "model.json").write_text(json.dumps(m))
    with pytest.raises(VerificationFailed, match="sha256"):
        load_export(bad, ctx.book)
    man = json.loads((bad / "manifest.json").read_text())
    man["files"].pop("model.json")           # a forger rewrites the manifest too: the commitments still catch it
    (bad / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(VerificationFailed, match="lin_commitment"):
        load_export(bad, ctx.book)
    r = CliRunner().invoke(main, ["explain", "--account", "whale", "--model", str(bad)])
    assert r.exit_code == 3 and "lin_commitment" in r.stderr and "Traceback" not in r.output


def test_cli_export_checks_a_proof_dir_and_writes_atomically(ctx, tmp_path):
    proofs = write_batch_dirs(ctx, tmp_path / "proofs")
    out = tmp_path / "exp"
    r = CliRunner().invoke(main, ["model", "export", "--out", str(out), "--proof-dir", str(proofs), "--json", *FAST])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["commitments"]["lin_commitment"] == ctx.commitments["lin_commitment"]
    man = json.loads((out / "manifest.json").read_text())
    assert man["origin"]["source"] == "proof"
    # another model's proof: exit 3 and nothing written
    r = CliRunner().invoke(main, ["model", "export", "--out", str(tmp_path / "exp2"), "--proof-dir", str(proofs),
                                  "--es-level", "0.975", *FAST])
    assert r.exit_code == 3 and "lin_commitment" in r.stderr
    assert not (tmp_path / "exp2").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".exp")]


@pytest.mark.parametrize("args, code, needle", [
    (["--out", "/proc/calcm-export"], 2, "--out"),
    (["--out", "{file}"], 2, "not a directory"),
    (["--out", "{tmp}/x", "--block", "3"], 2, "--block/--rpc/--registry"),
    (["--out", "{tmp}/x", "--block", "3", "--rpc", "http://127.0.0.1:9", "--registry", "0x" + "11" * 20], 4,
     "node does not answer"),
])
def test_cli_export_bad_input(tmp_path, args, code, needle):
    f = tmp_path / "file"
    f.write_text("x")
    args = [a.replace("{file}", str(f)).replace("{tmp}", str(tmp_path)) for a in args]
    r = CliRunner().invoke(main, ["model", "export", *args, *FAST])
    assert r.exit_code == code, r.output
    assert needle in r.stderr and "Traceback" not in r.output


def test_model_dir_that_is_not_an_export(tmp_path):
    r = CliRunner().invoke(main, ["whatif", "--account", "whale", "--trade", "BTC-PERP:1", "--model", str(tmp_path)])
    assert r.exit_code == 2 and "manifest.json" in r.stderr
