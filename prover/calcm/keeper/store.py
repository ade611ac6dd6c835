"""The keeper's durable state in SQLite: blocks seen, model states, submissions.

Tables (schema :data:`SCHEMA_VERSION`)::

    meta(key, value)            chain id, registry address, parameter hash, schema version
    blocks(number, hash, status, reason, report, at)
                                every block number the keeper accounted for: ``processed``,
                                ``skipped`` (with the reason: stale price, ...), or
                                ``coalesced`` (an older block covered by a newer head)
    model_states(commitment, state, parent, prices, rounds, at)
                                every model state the keeper computed, keyed by its on-chain
                                commitment, with the parent state and the close's feed
                                rounds; and the prices behind every linear and option
                                commitment it proved (``state`` JSON of kind ``lin`` / ``opt``),
                                so any model version's margin model can be recomputed
    submissions(key, kind, block, grp, root_version, status, tx_hash, receipt_block,
                receipt_hash, gas_used, proof_dir, attempts, error, created_at, updated_at)

A submission's ``key`` names what the registry can accept at most once:
``step:<day>`` (the daily step to ``day``), ``reval:<day>:<rounds>`` (an intraday
revaluation of the state of ``day`` at feed rounds ``rounds``), ``option:<day>:<rounds>:<part>``
(one part of the option revaluation at those rounds) and
``margin:<model version>:<group>:<root version>[:<block>]`` (a group's record; the context
block is added for a refresh of a record already at that version). Statuses move
``proving -> proved -> sending -> mined``, or end in ``superseded`` (the chain moved on
before it was sent), ``rejected`` (the chain refused it) or ``reorged`` (its block left the
chain, or the registry cleared the commitment a mined revaluation or option part set:
:mod:`.model_plan`). The chain stays the ground truth: before sending, the keeper checks the registry
for the key, so a submission whose row says ``sending`` after a crash is never sent twice.

Every write is its own transaction (WAL, ``synchronous=FULL``): a kill at any point leaves
the last committed state, never a partial one.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY, hash TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    report TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS model_states (
    commitment TEXT PRIMARY KEY, state TEXT NOT NULL, parent TEXT, prices TEXT, rounds TEXT,
    at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, block INTEGER NOT NULL, grp INTEGER,
    root_version INTEGER, status TEXT NOT NULL, tx_hash TEXT, receipt_block INTEGER,
    receipt_hash TEXT, gas_used INTEGER, proof_dir TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS submissions_status ON submissions(status);
"""

BLOCK_STATUSES = ("processed", "skipped", "coalesced")
SUBMISSION_STATUSES = ("proving", "proved", "sending", "mined", "superseded", "rejected", "reorged")
#: Statuses after which a key is settled unless a reorg reopens it.
FINAL = ("mined", "superseded", "rejected")


def _rounds(rounds) -> str:
    return "-".join(str(int(r)) for r in rounds)


def step_key(day: int) -> str:
    """Idempotency key of the daily step to ``day``."""
    return f"step:{day}"


def reval_key(day: int, rounds) -> str:
    """Idempotency key of the revaluation of the state of ``day`` at feed ``rounds``."""
    return f"reval:{day}:{_rounds(rounds)}"


def option_key(day: int, rounds, part: int) -> str:
    """Idempotency key of option part ``part`` of the chain of ``day``'s state at ``rounds``."""
    return f"option:{day}:{_rounds(rounds)}:{part}"


def margin_key(model_version: int, group: int, root_version: int, block: int | None = None) -> str:
    """Idempotency key of group ``group``'s record under a model and root version (and a
    context block, for a refresh within one version)."""
    base = f"margin:{model_version}:{group}:{root_version}"
    return base if block is None else f"{base}:{block}"


@dataclass(frozen=True)
class Submission:
    key: str
    kind: str
    block: int
    group: int | None
    root_version: int | None
    status: str
    tx_hash: str | None
    receipt_block: int | None
    receipt_hash: str | None
    gas_used: int | None
    proof_dir: str | None
    attempts: int
    error: str | None


@dataclass(frozen=True)
class StoredState:
    """A model state row: ``state`` is :meth:`ModelStateFx.to_json`, ``prices`` the PRICE ints
    and ``rounds`` the feed round ids of the update that produced it (None for genesis)."""

    commitment: int
    state: dict
    parent: int | None
    prices: list[int] | None
    rounds: list[int] | None


class Store:
    """One keeper's SQLite database (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InputError(str(self.path), "-", "-", f"not a keeper state database: {exc}") from None
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ meta

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def bind(self, **identity: str) -> None:
        """Tie the database to one chain, registry and model; refuse any other.

        A state file from another deployment would make the keeper skip submissions it
        never made (or resume from a block of another chain), so it is an input error.
        """
        for key, value in {"schema_version": str(SCHEMA_VERSION), **identity}.items():
            old = self.meta(key)
            if old is None:
                self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (key, str(value)))
            elif old != str(value):
                raise InputError(str(self.path), "meta", key,
                                 f"state belongs to {old}, not {value} (use another --state file)")

    # ------------------------------------------------------------------ blocks

    def last_block(self) -> int | None:
        """The highest block number accounted for (processed, skipped or coalesced)."""
        row = self.db.execute("SELECT MAX(number) FROM blocks").fetchone()
        return row[0]

    def block_hash(self, number: int) -> str | None:
        row = self.db.execute("SELECT hash FROM blocks WHERE number = ?", (number,)).fetchone()
        return None if row is None else row[0]

    def record_block(self, number: int, block_hash: str, status: str, reason: str | None = None,
                     report: dict | None = None) -> None:
        if status not in BLOCK_STATUSES:
            raise ValueError(f"unknown block status {status!r}")
        self.db.execute(
            "INSERT OR REPLACE INTO blocks(number, hash, status, reason, report, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (number, block_hash, status, reason, json.dumps(report) if report else None, time.time()))

    def record_blocks(self, rows: list[tuple[int, str, str, str | None]]) -> None:
        """Several ``(number, hash, status, reason)`` rows in one transaction."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO blocks(number, hash, status, reason, report, at) "
                "VALUES (?, ?, ?, ?, NULL, ?)", [(n, h, s, r, now) for n, h, s, r in rows])

    def blocks(self) -> list[dict]:
        rows = self.db.execute("SELECT number, hash, status, reason, report FROM blocks "
                               "ORDER BY number").fetchall()
        return [{"number": r["number"], "hash": r["hash"], "status": r["status"],
                 "reason": r["reason"], "report": json.loads(r["report"]) if r["report"] else None}
                for r in rows]

    def forget_blocks_after(self, number: int) -> int:
        """Delete the rows of blocks above ``number`` (after a reorg); returns how many."""
        return self.db.execute("DELETE FROM blocks WHERE number > ?", (number,)).rowcount

    # ------------------------------------------------------------------ model states

    def put_state(self, commitment: int, state: dict, parent: int | None = None,
                  prices: list[int] | None = None, rounds: list[int] | None = None) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO model_states(commitment, state, parent, prices, rounds, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (str(commitment), json.dumps(state), None if parent is None else str(parent),
             json.dumps(prices) if prices is not None else None,
             json.dumps(rounds) if rounds is not None else None, time.time()))

    def get_state(self, commitment: int) -> StoredState | None:
        r = self.db.execute("SELECT * FROM model_states WHERE commitment = ?",
                            (str(commitment),)).fetchone()
        if r is None:
            return None
        return StoredState(int(r["commitment"]), json.loads(r["state"]),
                           None if r["parent"] is None else int(r["parent"]),
                           json.loads(r["prices"]) if r["prices"] else None,
                           json.loads(r["rounds"]) if r["rounds"] else None)

    # ------------------------------------------------------------------ submissions

    def submission(self, key: str) -> Submission | None:
        r = self.db.execute("SELECT * FROM submissions WHERE key = ?", (key,)).fetchone()
        return None if r is None else _submission(r)

    def submissions(self, status: str | None = None) -> list[Submission]:
        q, args = "SELECT * FROM submissions", ()
        if status is not None:
            q, args = q + " WHERE status = ?", (status,)
        return [_submission(r) for r in self.db.execute(q + " ORDER BY created_at, key", args)]

    def open_submission(self, key: str, kind: str, block: int, group: int | None = None,
                        root_version: int | None = None) -> Submission:
        """Create the row for ``key`` (status ``proving``) unless it exists; returns the row."""
        now = time.time()
        self.db.execute(
            "INSERT OR IGNORE INTO submissions(key, kind, block, grp, root_version, status, "
            "attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'proving', 0, ?, ?)",
            (key, kind, block, group, root_version, now, now))
        return self.submission(key)

    def update_submission(self, key: str, status: str, **fields) -> None:
        if status not in SUBMISSION_STATUSES:
            raise ValueError(f"unknown submission status {status!r}")
        allowed = {"tx_hash", "receipt_block", "receipt_hash", "gas_used", "proof_dir", "error", "block"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"unknown submission fields {sorted(bad)}")
        cols = ", ".join(f"{k} = ?" for k in fields)
        sets = "status = ?, updated_at = ?" + (", " + cols if cols else "")
        if status == "sending":
            sets += ", attempts = attempts + 1"
        self.db.execute(f"UPDATE submissions SET {sets} WHERE key = ?",
                        (status, time.time(), *fields.values(), key))

    def reorged_submissions_after(self, number: int) -> list[Submission]:
        """Mined submissions whose receipt block is above ``number`` (candidates after a reorg)."""
        rows = self.db.execute("SELECT * FROM submissions WHERE status = 'mined' AND "
                               "receipt_block > ?", (number,)).fetchall()
        return [_submission(r) for r in rows]

    def counts(self) -> dict:
        """Blocks by status and submissions by (kind, status): for reports and metrics."""
        blocks = dict(self.db.execute("SELECT status, COUNT(*) FROM blocks GROUP BY status").fetchall())
        subs: dict[str, dict[str, int]] = {}
        for kind, status, n in self.db.execute(
                "SELECT kind, status, COUNT(*) FROM submissions GROUP BY kind, status"):
            subs.setdefault(kind, {})[status] = n
        gas = self.db.execute("SELECT COALESCE(SUM(gas_used), 0) FROM submissions "
                              "WHERE status = 'mined'").fetchone()[0]
        return {"blocks": blocks, "submissions": subs, "gas_used": gas}


def _submission(r: sqlite3.Row) -> Submission:
    return Submission(r["key"], r["kind"], r["block"], r["grp"], r["root_version"], r["status"],
                      r["tx_hash"], r["receipt_block"], r["receipt_hash"], r["gas_used"],
                      r["proof_dir"], r["attempts"], r["error"])
