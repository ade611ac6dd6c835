"""The venue's private book as the keeper sees it: accounts, owners, withdrawal requests.

A keeper proves margins, so it must know what the venue knows: every account's positions,
collateral and salt, at the leaf the venue committed it to. A :class:`VenueSnapshot` is that
view at one moment; a venue source (:class:`BookFileVenue` for the CLI,
:class:`MemoryVenue` for the demo and tests) hands out snapshots.

Leaf order is the book's account order, the mapping ``calcm prove`` uses: account ``i`` at
leaf ``i``. The published model covers the whole book, so no account is left out.

A book file for the keeper is a book JSON (:mod:`calcm.risk.book`) with two optional keys::

    "owners": {"<account id>": "0x<address>", ...}     on-chain owner of each account
    "withdrawal_requests": ["<account id>", ...]       post-withdrawal commitments to prove

It is re-read whenever its modification time changes, so the venue can update it in place
(atomically: write a temp file and rename).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from eth_utils import keccak, to_checksum_address

from ..errors import InputError
from ..risk.book import Book, load_book
from ..risk.fixed_margin import AccountFx, encode_book_accounts
from ..risk.modelfx import ModelParamsFx
from ..zk.config import CircuitConfig
from ..poseidon import AccountsTree
from ..zk.witness import venue_tree


def owner_address(account_id: str) -> str:
    """A deterministic stand-in owner address for an account id (demo and tests only)."""
    return to_checksum_address(keccak(text=f"calcm-demo-owner:{account_id}")[-20:])


@dataclass(frozen=True)
class VenueSnapshot:
    """The venue's accounts in leaf order (account ``i`` at leaf ``i``)."""

    names: tuple[str, ...]
    accounts: tuple[AccountFx, ...]
    owners: tuple[str, ...]
    withdrawals: frozenset[int] = frozenset()
    skipped: tuple[tuple[str, str], ...] = ()
    version: int = 0

    def tree(self, config: CircuitConfig) -> AccountsTree:
        return venue_tree(list(self.accounts), config)

    def leaf_of(self, name: str) -> int:
        return self.names.index(name)


class VenueSource(Protocol):
    def snapshot(self) -> VenueSnapshot: ...


def check_book_matches(book: Book, params: ModelParamsFx, source: str) -> None:
    """The book's instruments and collateral must cover the model's, by id."""
    ids = set(book.instrument_ids)
    for ins in params.instruments:
        if ins.id not in ids:
            raise InputError(source, f"instrument '{ins.id}'", "instruments",
                             "the model prices it but the book does not list it")
    assets = set(book.collateral_assets)
    for c in params.collateral:
        if c.asset not in assets:
            raise InputError(source, f"collateral '{c.asset}'", "collateral",
                             "the model prices it but the book does not list it")


def snapshot_from_book(book: Book, params: ModelParamsFx, config: CircuitConfig,
                       owners: dict[str, str] | None = None,
                       withdrawals: set[str] | frozenset[str] = frozenset(),
                       version: int = 0) -> VenueSnapshot:
    """Map ``book`` onto the model's sub-book (see the module docstring)."""
    check_book_matches(book, params, book.source)
    sub, skipped = book, []     # v2: the published model covers the whole book (no sub-book)
    # The model's instrument and collateral order must be the book's.
    if tuple(sub.instrument_ids) != tuple(i.id for i in params.instruments) or \
            tuple(sub.collateral_assets) != tuple(c.asset for c in params.collateral):
        raise InputError(book.source, "-", "instruments",
                         "the book lists the model's instruments or collateral in another order")
    accounts = tuple(encode_book_accounts(sub))
    names = tuple(a.id for a in sub.accounts)
    if len(accounts) > config.capacity:
        raise InputError(book.source, "-", "accounts",
                         f"{len(accounts)} accounts do not fit the circuit's {config.capacity} leaves")
    owners = owners or {}
    unknown = set(withdrawals) - set(names)
    if unknown:
        raise InputError(book.source, "-", "withdrawal_requests",
                         f"unknown or skipped accounts {sorted(unknown)}")
    return VenueSnapshot(names, accounts, tuple(owners.get(n) or owner_address(n) for n in names),
                         frozenset(names.index(n) for n in withdrawals), tuple(skipped), version)


class BookFileVenue:
    """A venue book file (see the module docstring), re-read when it changes."""

    def __init__(self, path: str | Path, params: ModelParamsFx, config: CircuitConfig):
        self.path, self.params, self.config = Path(path), params, config
        self._mtime: int | None = None
        self._snap: VenueSnapshot | None = None
        self._version = 0

    def _extras(self) -> tuple[dict, list]:
        try:
            obj = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}, []  # load_book already reported these
        owners = obj.get("owners", {}) if isinstance(obj, dict) else {}
        wd = obj.get("withdrawal_requests", []) if isinstance(obj, dict) else []
        if not isinstance(owners, dict) or not all(isinstance(v, str) for v in owners.values()):
            raise InputError(str(self.path), "-", "owners", "must map account ids to addresses")
        for k, v in owners.items():
            try:
                owners[k] = to_checksum_address(v)
            except ValueError:
                raise InputError(str(self.path), f"owner of '{k}'", "owners",
                                 f"{v!r} is not an address") from None
        if not isinstance(wd, list) or not all(isinstance(v, str) for v in wd):
            raise InputError(str(self.path), "-", "withdrawal_requests", "must be a list of ids")
        return owners, wd

    def snapshot(self) -> VenueSnapshot:
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            raise InputError(str(self.path), "-", "-", "venue book file not found") from None
        if self._snap is None or mtime != self._mtime:
            book = load_book(self.path)
            owners, wd = self._extras()
            self._version += 1
            self._snap = snapshot_from_book(book, self.params, self.config, owners, set(wd),
                                            self._version)
            self._mtime = mtime
        return self._snap


@dataclass
class MemoryVenue:
    """An in-memory venue the demo and the tests drive: accounts change, withdrawals come."""

    snap: VenueSnapshot
    history: list[VenueSnapshot] = field(default_factory=list)

    def snapshot(self) -> VenueSnapshot:
        return self.snap

    def update(self, leaf: int, account: AccountFx | None = None, withdrawal: bool | None = None
               ) -> VenueSnapshot:
        """Replace leaf ``leaf``'s account and/or set its withdrawal request; returns the new
        snapshot (the caller posts the new root on-chain)."""
        s = self.snap
        accounts = list(s.accounts)
        if account is not None:
            accounts[leaf] = account
        wd = set(s.withdrawals)
        if withdrawal is True:
            wd.add(leaf)
        elif withdrawal is False:
            wd.discard(leaf)
        self.history.append(s)
        self.snap = VenueSnapshot(s.names, tuple(accounts), s.owners, frozenset(wd), s.skipped,
                                  s.version + 1)
        return self.snap
