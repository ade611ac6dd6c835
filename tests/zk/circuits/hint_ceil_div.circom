// Audit harness (tests/audit/test_hint_harnesses.py): CeilDiv alone, so calcm audit's hint
// mutations and single-signal probe cover its `<--` hints in seconds. Its outputs stay
// private wires (no public signal): any second witness the R1CS accepts is a defect.
// Includes resolve below circuits/ (compiled as a main of a copy of circuits/).
pragma circom 2.1.0;

include "division.circom";

template Harness() {
    signal input num;
    signal input den;
    component t = CeilDiv(63, 14);
    t.num <== num;
    t.den <== den;
}

component main = Harness();
