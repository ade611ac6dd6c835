pragma circom 2.1.0;

include "sponge.circom";
include "constants.circom";

/*
 * LinCommitment(S, U, n, m, k, STRUCT_ID): linCommitment of docs/PROVING.md §3.
 *   Inputs:      price[U], adv[U], weightBps[U], haircutBps[m], perpMove[U], imBufferBps,
 *                warnBufferBps, lin[S][U] (PRICE, signed as x mod p).
 *   Outputs:     commitment = PoseidonSponge([MODEL_DOMAIN, STRUCT_ID, S, U, n, m,
 *                k, imBufferBps, warnBufferBps] ++ price ++ adv ++ weightBps ++
 *                haircutBps ++ perpMove ++ [lin[s][u] for u, then s])
 *                (calcm.poseidon.lin_commitment / MarginModelFx.lin_elements).
 *   Parameters:  STRUCT_ID = calcm.poseidon.structure_id of the model structure;
 *                it and the shapes are hashed as constants, so a commitment made
 *                for another structure never matches.
 *   Cost:        ceil((9 + 4U + m + S U) / 15) Poseidon(16) calls.
 *   Soundness:   binding by Poseidon's collision resistance. The model's value
 *                ranges are NOT checked here: the model is public, MarginModelFx
 *                validates every range before it is committed, and anyone can
 *                re-check the published model against the commitment.
 */
template LinCommitment(S, U, n, m, k, STRUCT_ID) {
    var DOMAIN = MODEL_DOMAIN();   // generated from calcm.risk.modelfx.constants.MODEL_DOMAIN
    var HEAD = 9;
    var LEN = HEAD + 4 * U + m + S * U;
    signal input price[U];
    signal input adv[U];
    signal input weightBps[U];
    signal input haircutBps[m];
    signal input perpMove[U];
    signal input imBufferBps;
    signal input warnBufferBps;
    signal input lin[S][U];
    signal output commitment;

    component sponge = PoseidonSponge(LEN);
    var head[9] = [DOMAIN, STRUCT_ID, S, U, n, m, k, 0, 0];
    for (var i = 0; i < 7; i++) {
        sponge.in[i] <== head[i];
    }
    sponge.in[7] <== imBufferBps;
    sponge.in[8] <== warnBufferBps;
    for (var u = 0; u < U; u++) {
        sponge.in[HEAD + u] <== price[u];
        sponge.in[HEAD + U + u] <== adv[u];
        sponge.in[HEAD + 2 * U + u] <== weightBps[u];
    }
    for (var j = 0; j < m; j++) {
        sponge.in[HEAD + 3 * U + j] <== haircutBps[j];
    }
    for (var u = 0; u < U; u++) {
        sponge.in[HEAD + 3 * U + m + u] <== perpMove[u];
    }
    var at = HEAD + 4 * U + m;
    for (var u = 0; u < U; u++) {
        for (var s = 0; s < S; s++) {
            sponge.in[at] <== lin[s][u];
            at++;
        }
    }
    commitment <== sponge.out;
}

/*
 * OptCommitment(S, nOpt, C): optCommitment of docs/PROVING.md §3.
 *   Inputs:      optMark[nOpt], optExpo[nOpt], opt[S][nOpt] (PRICE, signed as x mod p).
 *   Outputs:     commitment = the sponge over concat_{o, c} pad15(seg(o, c)),
 *                seg(o, c) = [optMark[o], optExpo[o]] ++ opt[chunk c][o], chunk c =
 *                scenarios [c S/C, (c+1) S/C); 0 when nOpt = 0. Every segment fills
 *                whole 15-element chunks, so this is the chain of the option parts'
 *                absorb(prev, seg) (calcm.poseidon.opt_commitment).
 *   Cost:        nOpt C ceil((2 + S/C) / 15) Poseidon(16) calls.
 *   Soundness:   as LinCommitment.
 */
template OptCommitment(S, nOpt, C) {
    assert(C >= 1 && S % C == 0);
    var L = S \ C;
    var SEG = ((2 + L + 14) \ 15) * 15;
    signal input optMark[nOpt];
    signal input optExpo[nOpt];
    signal input opt[S][nOpt];
    signal output commitment;

    if (nOpt == 0) {
        commitment <== 0;
    } else {
        component sponge = PoseidonSponge(nOpt * C * SEG);
        for (var o = 0; o < nOpt; o++) {
            for (var c = 0; c < C; c++) {
                var base = (o * C + c) * SEG;
                sponge.in[base] <== optMark[o];
                sponge.in[base + 1] <== optExpo[o];
                for (var i = 0; i < SEG - 2; i++) {
                    if (i < L) {
                        sponge.in[base + 2 + i] <== opt[c * L + i][o];
                    } else {
                        sponge.in[base + 2 + i] <== 0;
                    }
                }
            }
        }
        commitment <== sponge.out;
    }
}
