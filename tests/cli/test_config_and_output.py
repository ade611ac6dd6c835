"""calcm.toml precedence, piped table width, small prices, and `--json` on every command."""
from __future__ import annotations

import json

import click
from click.testing import CliRunner

from calcm.cli import main
from calcm.cli.output import fmt_number, table


def _commands(group=main, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield " ".join(prefix + (name,)), cmd


def test_every_command_has_json():
    missing = [n for n, c in _commands() if not any(p.name == "as_json" for p in c.params)]
    assert not missing, f"commands without --json: {missing}"


def test_config_sets_defaults_and_flags_win(tmp_path, monkeypatch):
    cfg = tmp_path / "calcm.toml"
    cfg.write_text("[model-tables]\ncheck = true\n[margin]\nes_level = 0.975\n")
    from calcm.cli.config import default_map
    dm = default_map(main, cfg)
    assert dm["margin"]["es_level"] == 0.975 and dm["model-tables"]["check"] is True
    # Through the CLI: the config's --check applies (JSON says so); a flag still wins over it.
    monkeypatch.setenv("CALCM_CONFIG", str(cfg))
    r = CliRunner().invoke(main, ["model-tables", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {**json.loads(r.stdout), "written": False, "current": True}


def test_config_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    cfg = tmp_path / "sub" / "calcm.toml"
    cfg.write_text('book = "b.json"\n[shape]\ndepth = 6\n[chain.deploy]\nkeeper_stall = 7\n')
    from calcm.cli.config import default_map
    dm = default_map(main, cfg)
    assert dm["margin"]["book"] == str(tmp_path / "sub" / "b.json")
    assert dm["prove"]["portfolios"] == str(tmp_path / "sub" / "b.json")
    assert dm["prove"]["depth"] == 6 and dm["chain"]["deploy"]["keeper_stall"] == 7


def test_piped_tables_are_not_cut_at_80_columns(capsys):
    long = "out/proofs/group-0000/" + "x" * 90
    table("t", ["proof", "price"], [[long, 0.0049597456]])
    out = capsys.readouterr().out
    assert long in out and "…" not in out


def test_small_prices_keep_significant_digits():
    assert fmt_number(0.0049597456) == "0.00496"       # DOGE, not 0.00
    assert fmt_number(28212.495) == "28,212.49" and fmt_number(0.0) == "0.00"
    assert fmt_number(3.2e-7) == "3.200e-07"


def test_model_tables_json():
    r = CliRunner().invoke(main, ["model-tables", "--check", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["current"] is True and doc["file"].endswith("tables.circom")
