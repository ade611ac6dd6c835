// Audit harness (tests/audit/test_hint_harnesses.py): TailSum alone, so calcm audit's hint
// mutations and single-signal probe cover its `<--` hints in seconds. Its outputs stay
// private wires (no public signal): any second witness the R1CS accepts is a defect.
// Includes resolve below circuits/ (compiled as a main of a copy of circuits/).
pragma circom 2.1.0;

include "tail.circom";

template Harness() {
    signal input loss[4];
    signal input inTail[4];
    signal input tailStep[4];
    signal input threshold;
    component t = TailSum(4, 2, 64);
    t.loss <== loss;
    t.inTail <== inTail;
    t.tailStep <== tailStep;
    t.threshold <== threshold;
}

component main = Harness();
