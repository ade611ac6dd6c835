pragma circom 2.1.0;

include "poseidon.circom";
include "constants.circom";

/*
 * PoseidonSponge(len)
 *   Inputs:      in[len] field elements.
 *   Outputs:     out = h after h = 0; h = Poseidon16([h] + chunk) for every
 *                chunk of 15 inputs, the last chunk zero-padded
 *                (calcm.zk.poseidon.poseidon_sponge; docs/ARCHITECTURE.md).
 *   Parameters:  len >= 1, fixed at compile time, so the zero padding is
 *                unambiguous (callers hash their lengths or fix them).
 *   Cost:        ceil(len / 15) * ~609 constraints (circomlib Poseidon(16)).
 *   Soundness:   Poseidon is collision resistant (standard assumption).
 */
template PoseidonSponge(len) {
    assert(len >= 1);
    var RATE = SPONGE_RATE();
    var calls = (len + RATE - 1) \ RATE;
    signal input in[len];
    signal output out;

    component h[calls];
    for (var c = 0; c < calls; c++) {
        h[c] = Poseidon(RATE + 1);
        if (c == 0) {
            h[c].inputs[0] <== 0;
        } else {
            h[c].inputs[0] <== h[c - 1].out;
        }
        for (var j = 0; j < RATE; j++) {
            if (c * RATE + j < len) {
                h[c].inputs[j + 1] <== in[c * RATE + j];
            } else {
                h[c].inputs[j + 1] <== 0;
            }
        }
    }
    out <== h[calls - 1].out;
}
