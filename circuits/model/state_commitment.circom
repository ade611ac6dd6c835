pragma circom 2.1.0;

include "sponge.circom";
include "tables.circom";
include "../constants.circom";

/*
 * StateCommitment(U)
 *   Inputs:      day (UTC day number of the close in price), sigma2[U] (GARCH variance, 2^48),
 *                price[U] (last prices, PRICE).
 *   Outputs:     commitment = PoseidonSponge([STATE_DOMAIN, U, day] + sigma2 + price)
 *                (calcm.risk.modelfx.state.ModelStateFx.commitment).
 *   Soundness:   binding by Poseidon's collision resistance; U is hashed, so a
 *                state of another shape never opens.
 *   Cost:        ceil((3 + 2U) / 15) Poseidon(16).
 */
template StateCommitment(U) {
    var DOMAIN = STATE_DOMAIN();   // generated from calcm.risk.modelfx.constants.STATE_DOMAIN
    signal input day;
    signal input sigma2[U];
    signal input price[U];
    signal output commitment;

    component sponge = PoseidonSponge(3 + 2 * U);
    sponge.in[0] <== DOMAIN;
    sponge.in[1] <== U;
    sponge.in[2] <== day;
    for (var u = 0; u < U; u++) {
        sponge.in[3 + u] <== sigma2[u];
        sponge.in[3 + U + u] <== price[u];
    }
    commitment <== sponge.out;
}
