"""Errors that the CLI turns into one line and exit code 2.

Every bad-input error names the file, the record and the field, so a user can
fix the input without reading a traceback.
"""
from __future__ import annotations


class InputError(ValueError):
    """Malformed or inconsistent input: ``file: record: field: message``."""

    def __init__(self, file: str, record: str, field: str, message: str):
        self.file, self.record, self.field, self.message = str(file), record, field, message
        super().__init__(f"{self.file}: {record}: {field}: {message}")


def read_json_file(path) -> object:
    """Decode a JSON input file; a missing file or bad JSON is an :class:`InputError`."""
    import json
    from pathlib import Path

    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(str(path), "-", "-", "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"line {exc.lineno}", "-", f"invalid JSON: {exc.msg}") from None


class UnavailableError(RuntimeError):
    """A toolchain or a chain the command needs is not there (exit code 4).

    For example an RPC URL where nothing answers, or a missing node/circom binary.
    ``what`` names the thing (``--rpc http://...``), ``message`` says what failed.
    """

    def __init__(self, what: str, message: str):
        self.what, self.message = str(what), message
        super().__init__(f"{self.what}: {message}")


class VerificationFailed(RuntimeError):
    """A proof, key pin or audit check did not pass (exit code 3)."""


#: The documented exit codes (README "Exit codes"). An uncaught exception is a bug.
EXIT_OK, EXIT_INPUT, EXIT_VERIFY, EXIT_UNAVAILABLE = 0, 2, 3, 4


class DataFallbackWarning(UserWarning):
    """A documented data fallback was taken (docs/MODEL.md names each one), e.g. the ADV of
    an underlying without volumes. The CLI prints it as one ``calcm: warning:`` line on
    stderr; ``--json`` outputs carry the matching field (``adv_source``)."""
