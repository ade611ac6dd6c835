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
