pragma circom 2.1.0;

include "sponge.circom";

/*
 * AccountCommitment(n, m)
 *   Inputs:      salt (secret, 248 bits in practice), qty[n] (signed quantities as
 *                field elements), collateral[m].
 *   Outputs:     commitment = PoseidonSponge([salt] + qty + collateral)
 *                (calcm.zk.poseidon.account_commitment).
 *   Parameters:  n instruments, m collateral assets (fixed, so the sponge input
 *                length is fixed and zero padding is unambiguous).
 *   Cost:        ceil((1 + n + m) / 15) Poseidon(16) calls.
 *   Notes:       The salt hides positions that have little entropy: without it an
 *                unsalted hash of a few small integers could be brute-forced. The
 *                ranges of qty and collateral are checked in AccountMargin, not here.
 */
template AccountCommitment(n, m) {
    signal input salt;
    signal input qty[n];
    signal input collateral[m];
    signal output commitment;

    component sponge = PoseidonSponge(1 + n + m);
    sponge.in[0] <== salt;
    for (var i = 0; i < n; i++) {
        sponge.in[1 + i] <== qty[i];
    }
    for (var j = 0; j < m; j++) {
        sponge.in[1 + n + j] <== collateral[j];
    }
    commitment <== sponge.out;
}
