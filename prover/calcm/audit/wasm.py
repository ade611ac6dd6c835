"""Many witnesses from a circuit's wasm in one node process, with assertion failures recorded.

The wasm witness calculator that circom generates (``main_js/main.wasm`` and its
``witness_calculator.js``) is the circuit's own witness generator: the same code
``snarkjs wtns calculate`` runs (:func:`calcm.zk.witness.calculate_witness`).
The audit needs two things that command does not give:

- speed: hundreds of witnesses (equivalence cases) without one node start each;
- completeness after an ``===`` fails: a witness calculator aborts at the first
  failed assertion, but a soundness probe needs the whole (bad) witness to show
  *which* R1CS constraints reject it. The driver below loads circom's own
  ``witness_calculator.js`` and changes one thing: its ``exceptionHandler``
  records code 4 ("Assert Failed") and returns, so the wasm carries on and the
  failed assertions come back as a list (``template line``). Every other error
  (a missing input, an out-of-bounds access) still aborts that witness.
  circom's generated code returns from the *component* whose assertion failed,
  so the signals that component would have computed after that line stay 0 (a
  fresh instance is used after every failure, so no value leaks from an
  earlier witness); parent components carry on.

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
const marker = "throw new Error(err + errStr);";
if (!src.includes(marker)) { console.error("unexpected witness_calculator.js"); process.exit(3); }
src = src.replace(marker,
  "if (code == 4) { globalThis.__asserts.push(errStr.trim()); errStr = \"\"; return; } " + marker);
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
      if (globalThis.__asserts.length) wc = null;  // a fresh instance: no stale signal values
    } catch (e) {
      wc = null;
      results.push({ asserts: globalThis.__asserts, error: String(e.message || e).trim() });
    }
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""


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
        job = t / "job.json"
        job.write_text(json.dumps({"wc": str(witness_calculator_js(wasm)), "wasm": str(Path(wasm).resolve()),
                                   "inputs": paths, "out": str(t)}))
        res = run([node, "--max-old-space-size=8192", str(t / "driver.js"), str(job)], timeout=timeout)
        out = []
        for i, r in enumerate(json.loads(res.stdout)):
            w = t / f"w{i}.wtns"
            values = read_wtns(w).values if r["error"] is None and w.exists() else None
            out.append(WasmWitness(values, tuple(r["asserts"]), r["error"]))
        return out
