// Audit harness (tests/audit/test_hint_harnesses.py): ScenarioVol alone, so calcm audit's hint
// mutations and single-signal probe cover its `<--` hint (w = round(2^40 / u)) in seconds. Its
// outputs stay private wires (no public signal): any second witness the R1CS accepts is a defect.
// Includes resolve below circuits/ (compiled as a main of a copy of circuits/).
pragma circom 2.1.0;

include "model/vol_shock.circom";

template Harness() {
    signal input shock;
    signal input skew;
    signal input m;
    component t = ScenarioVol();
    t.shock <== shock;
    t.skew <== skew;
    t.m <== m;
}

component main = Harness();
