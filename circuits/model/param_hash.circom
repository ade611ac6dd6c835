pragma circom 2.1.0;

include "sponge.circom";
include "tables.circom";

/*
 * ParamHash(U, S, m, NOPT, STRUCT_ID)
 *   Inputs:      the public model parameters (calcm.risk.model_fx.ModelParamsFx):
 *                horizonDays, sqrtH, imBufferBps, warnBufferBps, minReturnBps;
 *                per asset omega, alpha, gamma, beta, adv, weightBps; per
 *                collateral haircutBps; z[S][U]; when NOPT > 0, per scenario
 *                volShock, shockWeight and per option series strike, expiry, iv,
 *                lnK, v, invV, vAfter, invVAfter.
 *   Outputs:     hash = PoseidonSponge(ModelParamsFx.field_elements()):
 *                [PARAM_DOMAIN, STRUCT_ID, horizonDays, sqrtH, imBufferBps,
 *                 warnBufferBps, minReturnBps, (omega, alpha, gamma, beta, adv,
 *                 weightBps) per asset, haircutBps, z row-major,
 *                 (volShock, shockWeight) per scenario, (strike, expiry, iv, lnK,
 *                 v, invV, vAfter, invVAfter) per option].
 *   Parameters:  STRUCT_ID = ModelParamsFx.structure_id(): the sponge of the
 *                shapes, instrument kinds and underlyings, collateral map and k
 *                that this circuit fixes at compile time, so governance's hash
 *                covers the structure too.
 *   Soundness:   binding by Poseidon's collision resistance. Parameter RANGES are
 *                not re-checked here: ModelParamsFx validates them (and derives
 *                lnK, v, 1/v, w by exact integer routines) before governance
 *                publishes the hash; anyone can re-check the published parameters.
 *   Cost:        ceil((7 + 6U + m + SU + [NOPT > 0] (2S + 8 NOPT)) / 15) Poseidon(16).
 */
template ParamHash(U, S, m, NOPT, STRUCT_ID) {
    var SO = NOPT > 0 ? S : 0;
    var LEN = 7 + 6 * U + m + S * U + 2 * SO + 8 * NOPT;
    signal input horizonDays;
    signal input sqrtH;
    signal input imBufferBps;
    signal input warnBufferBps;
    signal input minReturnBps;
    signal input omega[U];
    signal input alpha[U];
    signal input gamma[U];
    signal input beta[U];
    signal input adv[U];
    signal input weightBps[U];
    signal input haircutBps[m];
    signal input z[S][U];
    signal input volShock[SO];
    signal input shockWeight[SO];
    signal input strike[NOPT];
    signal input expiry[NOPT];
    signal input iv[NOPT];
    signal input lnK[NOPT];
    signal input v[NOPT];
    signal input invV[NOPT];
    signal input vAfter[NOPT];
    signal input invVAfter[NOPT];
    signal output hash;

    component sponge = PoseidonSponge(LEN);
    sponge.in[0] <== PARAM_DOMAIN();
    sponge.in[1] <== STRUCT_ID;
    sponge.in[2] <== horizonDays;
    sponge.in[3] <== sqrtH;
    sponge.in[4] <== imBufferBps;
    sponge.in[5] <== warnBufferBps;
    sponge.in[6] <== minReturnBps;
    var at = 7;
    for (var u = 0; u < U; u++) {
        sponge.in[at] <== omega[u];
        sponge.in[at + 1] <== alpha[u];
        sponge.in[at + 2] <== gamma[u];
        sponge.in[at + 3] <== beta[u];
        sponge.in[at + 4] <== adv[u];
        sponge.in[at + 5] <== weightBps[u];
        at += 6;
    }
    for (var j = 0; j < m; j++) {
        sponge.in[at] <== haircutBps[j];
        at++;
    }
    for (var s = 0; s < S; s++) {
        for (var u = 0; u < U; u++) {
            sponge.in[at] <== z[s][u];
            at++;
        }
    }
    for (var s = 0; s < SO; s++) {
        sponge.in[at] <== volShock[s];
        sponge.in[at + 1] <== shockWeight[s];
        at += 2;
    }
    for (var o = 0; o < NOPT; o++) {
        sponge.in[at] <== strike[o];
        sponge.in[at + 1] <== expiry[o];
        sponge.in[at + 2] <== iv[o];
        sponge.in[at + 3] <== lnK[o];
        sponge.in[at + 4] <== v[o];
        sponge.in[at + 5] <== invV[o];
        sponge.in[at + 6] <== vAfter[o];
        sponge.in[at + 7] <== invVAfter[o];
        at += 8;
    }
    hash <== sponge.out;
}
