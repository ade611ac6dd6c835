"""Many witnesses from a circuit's wasm in one node process, with assertion failures recorded.

The wasm witness calculator that circom generates (``main_js/main.wasm`` and its
``witness_calculator.js``) is the circuit's own witness generator: the same code
``snarkjs wtns calculate`` runs (:func:`calcm.zk.witness.calculate_witness`).
The audit needs two things that command does not give:

- speed: hundreds of witnesses (equivalence cases) without one node start each;
- completeness after an ``===`` fails: the generated code ends the whole
  computation at the first failed assertion (``printErrorMessage``, then
  ``return 4`` up the call chain), but a soundness probe needs the whole (bad)
  witness to show which R1CS constraints reject it. :func:`nonfatal_asserts`
  patches exactly that: in the wasm code section, every
  ``call $printErrorMessage; i32.const 4; return`` (the tail of a failed
  ``===`` or ``assert()``) becomes ``call $printErrorMessage; nop; nop; nop``,
  so the generator records the message and carries on. The driver collects
  the messages (``Error in template T_12 line: N``) as the list of failed
  assertions. Every other error (a missing input, an out-of-bounds access)
  still aborts that witness.

Nothing here judges a witness: callers compare it with the Python reference or
evaluate the R1CS on it (:mod:`calcm.audit.r1cs`).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..zk.toolchain import ToolchainError, run
from ..zk.wtns import read_wtns

# argv[2]: job.json. job = {wc, wasm, inputs: [paths], out: dir}; prints one JSON result per input.
_DRIVER = r"""
const fs = require("fs");
const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
let src = fs.readFileSync(job.wc, "utf8");
const marker = 'errStr += getMessage() + "\\n";';
if (!src.includes(marker)) { console.error("unexpected witness_calculator.js"); process.exit(3); }
src = src.replace(marker,
  '{ const m = getMessage(); errStr += m + "\\n"; globalThis.__asserts.push(m.trim()); }');
const mod = { exports: {} };
new Function("module", "exports", "require", src)(mod, mod.exports, require);
const code = fs.readFileSync(job.wasm);
(async () => {
  const results = [];
  let wc = null;  // reused between witnesses (init() resets it); rebuilt after an abort
  for (let i = 0; i < job.inputs.length; i++) {
    globalThis.__asserts = [];
    try {
      wc = wc || await mod.exports(code);
      const input = JSON.parse(fs.readFileSync(job.inputs[i], "utf8"));
      const buf = await wc.calculateWTNSBin(input, 0);
      fs.writeFileSync(`${job.out}/w${i}.wtns`, buf);
      results.push({ asserts: globalThis.__asserts, error: null });
    } catch (e) {
      wc = null;
      const msg = String(e.message || e).trim();
      results.push({ asserts: [], error: msg });
    }
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


def _leb(data: bytes, pos: int) -> tuple[int, int]:
    """Unsigned LEB128 at ``pos``: (value, next position)."""
    out = shift = 0
    while True:
        b = data[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return out, pos


def _uleb(v: int) -> bytes:
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _function_import_index(data: bytes, start: int, end: int, name: bytes) -> int | None:
    """Function index of import ``name`` in an import section payload."""
    count, pos = _leb(data, start)
    func = 0
    for _ in range(count):
        n, pos = _leb(data, pos)
        pos += n                                   # module name
        n, pos = _leb(data, pos)
        field = data[pos:pos + n]
        pos += n
        kind = data[pos]
        pos += 1
        if kind == 0:                              # function: type index
            _, pos = _leb(data, pos)
            if field == name:
                return func
            func += 1
        elif kind == 1:                            # table: reftype, limits
            flag = data[pos + 1]
            _, pos = _leb(data, pos + 2)
            if flag & 1:
                _, pos = _leb(data, pos)
        elif kind == 2:                            # memory: limits
            flag = data[pos]
            _, pos = _leb(data, pos + 1)
            if flag & 1:
                _, pos = _leb(data, pos)
        elif kind == 3:                            # global: valtype, mutability
            pos += 2
        else:
            raise ValueError(f"unknown import kind {kind}")
    return None


def nonfatal_asserts(wasm: bytes) -> tuple[bytes, int]:
    """circom wasm with failed assertions made non-fatal (see the module docstring).

    Returns the patched module and the number of assertion sites patched; the
    patch keeps every byte offset (three one-byte ``nop`` for three bytes).
    """
    if wasm[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    pos, imports, code = 8, None, None
    while pos < len(wasm):
        sid = wasm[pos]
        size, body = _leb(wasm, pos + 1)
        if sid == 2:
            imports = (body, body + size)
        elif sid == 10:
            code = (body, body + size)
        pos = body + size
    if imports is None or code is None:
        raise ValueError("wasm without import or code section")
    idx = _function_import_index(wasm, *imports, b"printErrorMessage")
    if idx is None:
        raise ValueError("wasm does not import printErrorMessage (not a circom witness generator)")
    pattern = b"\x10" + _uleb(idx) + b"\x41\x04\x0f"          # call idx; i32.const 4; return
    patched = b"\x10" + _uleb(idx) + b"\x01\x01\x01"          # call idx; nop; nop; nop
    head, body, tail = wasm[:code[0]], wasm[code[0]:code[1]], wasm[code[1]:]
    n = body.count(pattern)
    return head + body.replace(pattern, patched) + tail, n


@dataclass(frozen=True)
class WasmWitness:
    """One witness run: the values (None if it aborted), failed assertions, abort message."""

    values: list[int] | None
    asserts: tuple[str, ...]
    error: str | None

    @property
    def clean(self) -> bool:
        """Computed to the end with no failed assertion."""
        return self.values is not None and not self.asserts and self.error is None


def witness_calculator_js(wasm: Path) -> Path:
    """circom's ``witness_calculator.js`` beside ``wasm``."""
    js = Path(wasm).parent / "witness_calculator.js"
    if not js.exists():
        raise FileNotFoundError(f"{js}: circom's witness calculator is missing beside the wasm")
    return js


def calculate_many(wasm: Path, inputs: Sequence[dict], *, timeout: float = 1800) -> list[WasmWitness]:
    """Witnesses of ``inputs`` (circuit input JSON objects) from ``wasm``, in order."""
    if not inputs:
        return []
    node = shutil.which("node")
    if node is None:
        raise ToolchainError(["node"], None, "node is not on PATH")
    with tempfile.TemporaryDirectory(prefix="calcm-audit-wtns-") as tmp:
        t = Path(tmp)
        paths = []
        for i, inp in enumerate(inputs):
            p = t / f"in{i}.json"
            p.write_text(json.dumps(inp))
            paths.append(str(p))
        (t / "driver.js").write_text(_DRIVER)
        code, n_asserts = nonfatal_asserts(Path(wasm).read_bytes())
        if n_asserts == 0:
            raise ValueError(f"{wasm}: no assertion site found to make non-fatal")
        (t / "main.wasm").write_bytes(code)
        job = t / "job.json"
        job.write_text(json.dumps({"wc": str(witness_calculator_js(wasm)), "wasm": str(t / "main.wasm"),
                                   "inputs": paths, "out": str(t)}))
        res = run([node, "--max-old-space-size=8192", str(t / "driver.js"), str(job)], timeout=timeout)
        out = []
        for i, r in enumerate(json.loads(res.stdout)):
            w = t / f"w{i}.wtns"
            values = read_wtns(w).values if r["error"] is None and w.exists() else None
            out.append(WasmWitness(values, tuple(r["asserts"]), r["error"]))
        return out
