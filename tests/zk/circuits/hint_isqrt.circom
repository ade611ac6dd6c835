// Audit harness (tests/audit/test_hint_harnesses.py): ISqrt alone, so calcm audit's hint
// mutations and single-signal probe cover its `<--` hints in seconds. Its outputs stay
// private wires (no public signal): any second witness the R1CS accepts is a defect.
// Includes resolve below circuits/ (compiled as a main of a copy of circuits/).
pragma circom 2.1.0;

include "model/isqrt.circom";

template Harness() {
    signal input x;
    component t = ISqrt(37);
    t.x <== x;
}

component main = Harness();
