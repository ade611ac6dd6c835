pragma circom 2.1.0;

include "sponge.circom";

/*
 * ModelCommitment(S, n, U, m, k)
 *   Inputs:      the public margin model (calcm.risk.fixed_margin.MarginModelFx):
 *                pnl[S][n], mark[n], exposure[U][n] (PRICE scale, signed),
 *                collateralPrice[m], haircutBps[m], adv[U], weightBps[U],
 *                imBufferBps, warnBufferBps.
 *   Outputs:     commitment = PoseidonSponge(MarginModelFx.field_elements()):
 *                [domain tag, S, n, U, m, k, imBufferBps, warnBufferBps,
 *                 pnl (row-major), mark, exposure (row-major), collateralPrice,
 *                 haircutBps, adv, weightBps].
 *   Parameters:  S scenarios, n instruments, U underlyings, m collateral assets,
 *                k tail size; the shapes and k are hashed as constants, so a
 *                commitment made for another shape never matches.
 *   Cost:        ceil((8 + S*n + n + U*n + 2m + 2U) / 15) Poseidon(16) calls.
 *   Soundness:   binding by Poseidon's collision resistance: with the
 *                commitment a public input, a proof made with any other matrix
 *                or parameter fails. The model's value ranges are NOT checked
 *                here: the model is public, MarginModelFx validates every range
 *                before it is committed, and anyone can re-check the published
 *                model against the commitment.
 */
template ModelCommitment(S, n, U, m, k) {
    // int.from_bytes(b"calcm-margin-v1", "big") (calcm.risk.fixed_margin.MODEL_DOMAIN).
    var DOMAIN = 516013370139057098663880146427934257;
    var HEAD = 8;
    var LEN = HEAD + S * n + n + U * n + 2 * m + 2 * U;

    signal input pnl[S][n];
    signal input mark[n];
    signal input exposure[U][n];
    signal input collateralPrice[m];
    signal input haircutBps[m];
    signal input adv[U];
    signal input weightBps[U];
    signal input imBufferBps;
    signal input warnBufferBps;
    signal output commitment;

    component sponge = PoseidonSponge(LEN);
    sponge.in[0] <== DOMAIN;
    sponge.in[1] <== S;
    sponge.in[2] <== n;
    sponge.in[3] <== U;
    sponge.in[4] <== m;
    sponge.in[5] <== k;
    sponge.in[6] <== imBufferBps;
    sponge.in[7] <== warnBufferBps;
    var at = HEAD;
    for (var s = 0; s < S; s++) {
        for (var i = 0; i < n; i++) {
            sponge.in[at] <== pnl[s][i];
            at++;
        }
    }
    for (var i = 0; i < n; i++) {
        sponge.in[at] <== mark[i];
        at++;
    }
    for (var u = 0; u < U; u++) {
        for (var i = 0; i < n; i++) {
            sponge.in[at] <== exposure[u][i];
            at++;
        }
    }
    for (var j = 0; j < m; j++) {
        sponge.in[at] <== collateralPrice[j];
        at++;
    }
    for (var j = 0; j < m; j++) {
        sponge.in[at] <== haircutBps[j];
        at++;
    }
    for (var u = 0; u < U; u++) {
        sponge.in[at] <== adv[u];
        at++;
    }
    for (var u = 0; u < U; u++) {
        sponge.in[at] <== weightBps[u];
        at++;
    }
    commitment <== sponge.out;
}
