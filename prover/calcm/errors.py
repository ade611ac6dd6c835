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
