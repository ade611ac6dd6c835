pragma circom 2.1.0;

include "poseidon.circom";
include "../constants.circom";

/*
 * SpongeAbsorb(len)
 *   Inputs:      init (the sponge state to continue from), in[len].
 *   Outputs:     out = h after h = init; h = Poseidon16([h] + chunk) for every
 *                15-element chunk of pad15(in) (calcm.risk.modelfx._sponge.absorb).
 *                With init = 0 it is PoseidonSponge(len).
 *   Parameters:  len >= 1 (compile time, so the zero padding is unambiguous).
 *   Use:         the option sponge (docs/PROVING.md §3): every segment is
 *                padded to whole chunks, so part j continues from part j - 1.
 *   Cost:        ceil(len / 15) Poseidon(16).
 */
template SpongeAbsorb(len) {
    assert(len >= 1);
    var RATE = SPONGE_RATE();
    var calls = (len + RATE - 1) \ RATE;
    signal input init;
    signal input in[len];
    signal output out;

    component h[calls];
    for (var c = 0; c < calls; c++) {
        h[c] = Poseidon(RATE + 1);
        if (c == 0) {
            h[c].inputs[0] <== init;
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
