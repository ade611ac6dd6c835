"""Witness (``.wtns``) and symbol (``.sym``) files, read and written without node.

``.wtns`` is iden3's binary format: magic ``wtns``, version, sections; section 1
holds the field size ``n8``, the prime and the witness length, section 2 the
values as ``n8``-byte little-endian integers. Writing is used by the security
tests to tamper with one signal and show that ``snarkjs wtns check`` rejects it.

``.sym`` lines are ``label,witnessIndex,component,name``; a witness index of -1
means the signal was optimised away (it is then no part of the R1CS).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .. import atomic


@dataclass
class Witness:
    prime: int
    values: list[int]

    def __getitem__(self, i: int) -> int:
        return self.values[i]


def read_wtns(path: Path) -> Witness:
    data = Path(path).read_bytes()
    if data[:4] != b"wtns":
        raise ValueError(f"{path}: not a wtns file")
    n_sections = struct.unpack_from("<I", data, 8)[0]
    pos, n8, prime, n_wit, values = 12, 0, 0, 0, None
    for _ in range(n_sections):
        stype, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if stype == 1:
            n8 = struct.unpack_from("<I", data, pos)[0]
            prime = int.from_bytes(data[pos + 4:pos + 4 + n8], "little")
            n_wit = struct.unpack_from("<I", data, pos + 4 + n8)[0]
        elif stype == 2:
            values = [int.from_bytes(data[pos + i * n8:pos + (i + 1) * n8], "little")
                      for i in range(size // n8)]
        pos += size
    if values is None or len(values) != n_wit:
        raise ValueError(f"{path}: malformed wtns (header says {n_wit} values)")
    return Witness(prime, values)


def write_wtns(path: Path, wit: Witness) -> Path:
    n8 = 32
    header = struct.pack("<I", n8) + wit.prime.to_bytes(n8, "little") + struct.pack("<I", len(wit.values))
    body = b"".join((v % wit.prime).to_bytes(n8, "little") for v in wit.values)
    blob = (b"wtns" + struct.pack("<II", 2, 2)
            + struct.pack("<IQ", 1, len(header)) + header
            + struct.pack("<IQ", 2, len(body)) + body)
    return atomic.write_bytes(path, blob)


def read_sym(path: Path) -> dict[str, int]:
    """Signal name -> witness index, for the signals that survive optimisation."""
    out = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split(",", 3)
        if len(parts) == 4 and int(parts[1]) >= 0:
            out[parts[3]] = int(parts[1])
    return out
