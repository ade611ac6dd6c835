// Audit harness (tests/audit/test_hint_harnesses.py): SimpleReturn alone, so calcm audit's hint
// mutations and single-signal probe cover its `<--` hints in seconds. Its outputs stay
// private wires (no public signal): any second witness the R1CS accepts is a defect.
// Includes resolve below circuits/ (compiled as a main of a copy of circuits/).
pragma circom 2.1.0;

include "model/simple_return.circom";

template Harness() {
    signal input p0;
    signal input p1;
    component t = SimpleReturn(48, 40, 44);
    t.p0 <== p0;
    t.p1 <== p1;
}

component main = Harness();
