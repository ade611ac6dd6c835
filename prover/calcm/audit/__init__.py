"""The auditor's toolkit behind ``calcm audit`` (docs/AUDIT.md).

One command checks that the circuits compute exactly the published model, that
no output can be forged, and that the setup and the deployed verifier belong to
the audited circuits:

- :mod:`.equivalence` (with :mod:`.cases` and :mod:`.wasm`): the circuits'
  witness calculator against the Python fixed-point model, bit for bit, on
  fixtures, seeded random inputs and adversarial edge cases; the fixed-point
  model against the float model within the documented bound;
- :mod:`.soundness` (with :mod:`.r1cs` and :mod:`.sources`): R1CS structure,
  single-signal alterations, the ``<--`` source scan, hint mutations that try
  to forge a witness, and ``circom --inspect``;
- :mod:`.setup_integrity`: ptau, zkey, verification key, Solidity verifier,
  manifest hashes and deployed bytecode;
- :mod:`.transparency`: the model-parameter hashes and their independent
  recomputation;
- :mod:`.report`: the checks and the Markdown / JSON report; :mod:`.run`
  orchestrates them.
"""
