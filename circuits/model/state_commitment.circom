pragma circom 2.1.0;

include "sponge.circom";
include "tables.circom";

/*
 * StateCommitment(U)
 *   Inputs:      step (update count), sigma2[U] (GARCH variance, 2^48),
 *                price[U] (last prices, PRICE).
 *   Outputs:     commitment = PoseidonSponge([STATE_DOMAIN, U, step] + sigma2 + price)
 *                (calcm.risk.model_fx.ModelStateFx.commitment).
 *   Soundness:   binding by Poseidon's collision resistance; U is hashed, so a
 *                state of another shape never opens.
 *   Cost:        ceil((3 + 2U) / 15) Poseidon(16).
 */
template StateCommitment(U) {
    var DOMAIN = STATE_DOMAIN();   // generated from calcm.risk.model_fx.STATE_DOMAIN
    signal input step;
    signal input sigma2[U];
    signal input price[U];
    signal output commitment;

    component sponge = PoseidonSponge(3 + 2 * U);
    sponge.in[0] <== DOMAIN;
    sponge.in[1] <== U;
    sponge.in[2] <== step;
    for (var u = 0; u < U; u++) {
        sponge.in[3 + u] <== sigma2[u];
        sponge.in[3 + U + u] <== price[u];
    }
    commitment <== sponge.out;
}
