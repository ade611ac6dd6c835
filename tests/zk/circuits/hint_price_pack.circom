// Audit harness (tests/audit/test_hint_harnesses.py): PricePack alone, so calcm audit's hint
// mutations and single-signal probe cover its `<--` hints in seconds. Its outputs stay
// private wires (no public signal): any second witness the R1CS accepts is a defect.
// Includes resolve below circuits/ (compiled as a main of a copy of circuits/).
pragma circom 2.1.0;

include "model/price_pack.circom";

template Harness() {
    signal input price[2];
    signal input packed[1];
    component t = PricePack(2);
    t.price <== price;
    t.packed <== packed;
}

component main = Harness();
