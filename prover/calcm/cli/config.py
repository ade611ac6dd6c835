"""``calcm.toml``: defaults for CLI options; a flag on the command line always wins.

Looked up in this order (the first that exists): ``calcm --config FILE``, ``$CALCM_CONFIG``,
``./calcm.toml``. Keys (docs/CONFIG.md):

- top level, applied to every command that has the option: ``market``, ``volumes``,
  ``book`` (also ``--portfolios``), ``rpc``, ``registry``, ``deployment``, ``keystore``;
- ``[shape]``: the margin circuit shape, ``batch`` (N, ``prove --batch``) and ``depth`` (D);
- ``[<command>]`` or ``[<group>.<command>]`` (``[margin]``, ``[chain.deploy]``): any option
  of that command by its name with ``_`` for ``-`` (``es_level = 0.975``).

An unknown key or section is an :class:`~calcm.errors.InputError` naming the file and key,
and every value goes through the same checks as a flag (``calcm.cli.validate``).
A relative path is relative to the config file's directory.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

import click

from ..errors import InputError

#: Top-level key -> the parameter names it sets, in every command that has one.
GLOBAL_KEYS = {"market": ("market",), "volumes": ("volumes",), "book": ("book", "portfolios"),
               "rpc": ("rpc",), "registry": ("registry",), "deployment": ("deployment",),
               "keystore": ("keystore",)}
SHAPE_KEYS = {"batch": ("batch_size",), "depth": ("depth",)}


def find_config(explicit: Path | None) -> Path | None:
    """The config file to use, or None."""
    if explicit is not None:
        return explicit
    env = os.environ.get("CALCM_CONFIG")
    if env:
        return Path(env)
    local = Path.cwd() / "calcm.toml"
    return local if local.is_file() else None


def _commands(group: click.Group, prefix: tuple = ()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


def _set(tree: dict, path: tuple, key: str, value) -> None:
    for p in path:
        tree = tree.setdefault(p, {})
    tree[key] = value


def default_map(root: click.Group, path: Path) -> dict:
    """The click ``default_map`` of config file ``path`` for the command tree under ``root``."""
    src = str(path)
    try:
        doc = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(src, "-", "-", "config file not found") from None
    except IsADirectoryError:
        raise InputError(src, "-", "-", "is a directory, expected a calcm.toml file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(src, "-", "-", f"invalid TOML: {exc}") from None
    base = Path(path).resolve().parent
    commands = {" ".join(p): (p, c) for p, c in _commands(root)}
    out: dict = {}

    def value(param, v):
        if isinstance(param.type, click.Path) and isinstance(v, str):
            return str(base / Path(v).expanduser())
        return v

    for key, v in doc.items():
        if key in GLOBAL_KEYS or key == "shape":
            keys = GLOBAL_KEYS if key in GLOBAL_KEYS else SHAPE_KEYS
            items = {key: v} if key in GLOBAL_KEYS else v
            if not isinstance(items, dict):
                raise InputError(src, "[shape]", "-", "must be a table")
            for k, val in items.items():
                if k not in keys:
                    raise InputError(src, "[shape]", k, f"unknown key; one of {', '.join(SHAPE_KEYS)}")
                for cpath, cmd in commands.values():
                    for p in cmd.params:
                        if p.name in keys[k]:
                            _set(out, cpath, p.name, value(p, val))
            continue
        # A [group] table holds [group.command] tables; a [command] table holds options.
        tables = {key: v} if key in commands else (
            {f"{key} {k}": t for k, t in v.items()} if isinstance(v, dict) else {})
        if not tables or any(name not in commands for name in tables):
            bad = next((n for n in tables if n not in commands), key)
            raise InputError(src, "-", bad.replace(" ", "."), "unknown key or command section")
        for name, table in tables.items():
            cpath, cmd = commands[name]
            if not isinstance(table, dict):
                raise InputError(src, f"[{name.replace(' ', '.')}]", "-", "must be a table")
            params = {p.name: p for p in cmd.params}
            for k, val in table.items():
                if k not in params:
                    raise InputError(src, f"[{name.replace(' ', '.')}]", k,
                                     f"unknown option of `calcm {name}`")
                _set(out, cpath, k, value(params[k], val))
    return out
