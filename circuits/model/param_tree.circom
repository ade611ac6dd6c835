pragma circom 2.1.0;

include "sponge.circom";
include "tables.circom";
include "../constants.circom";

/*
 * Parameter tree hash (docs/PROVING.md §4; calcm.risk.modelfx.paramhash).
 *
 * common[NC], NC = 5 + 7U + m, is h_common's preimage in order:
 *   [horizonDays, sqrtH, imBufferBps, warnBufferBps, minReturnBps]
 *   ++ per asset (omega, alpha, gamma, beta, adv, weightBps, perpShockBps) ++ haircutBps[m].
 * COMMON_* below are the positions every model circuit reads from it (sqrtH
 * stays in the frozen layout; no circuit reads it since AssetMove takes the
 * horizon coefficients instead).
 *
 * hz[u][c] = sponge(zhead[u] ++ z[c L .. (c+1) L - 1][u]), L = S / C, with
 * zhead[u] = [A_u, B_u, F_u] (ZHEAD_LEN of them): asset u's MPOR forecast
 * coefficients and APC floor (AssetMove, HorizonVariance), repeated in each of
 * its chunks so that every circuit opening a chunk of u gets them hash-bound.
 *
 * Soundness: binding by Poseidon's collision resistance. Parameter RANGES are
 * not re-checked in-circuit: ModelParamsFx validates them (and derives lnK,
 * v, 1/v, w by exact integer routines) before governance publishes the hash.
 */
function COMMON_LEN(U, m) { return 5 + 7 * U + m; }
function COMMON_SQRTH() { return 1; }
function COMMON_IM() { return 2; }
function COMMON_WARN() { return 3; }
function COMMON_MINRET() { return 4; }
// Field f (0 omega, 1 alpha, 2 gamma, 3 beta, 4 adv, 5 weightBps, 6 perpShockBps) of asset u.
function COMMON_ASSET(u, f) { return 5 + 7 * u + f; }
function COMMON_HAIRCUT(U, j) { return 5 + 7 * U + j; }
// The z-chunk head [A, B, F] (calcm.risk.modelfx.paramhash.z_chunk).
function ZHEAD_LEN() { return 3; }

/*
 * ParamHashTree(U, C, NOPT, STRUCT_ID)
 *   Inputs:   common = h_common, hz[U][C], hs[US][C] (US = U if NOPT > 0, else 0), ht[NOPT].
 *   Outputs:  hash = sponge([PARAM_DOMAIN, STRUCT_ID, common] ++ hz ++ hs ++ ht), hz and hs
 *             asset-major.
 *   Cost:     ceil((3 + UC + US C + NOPT) / 15) Poseidon(16).
 */
template ParamHashTree(U, C, NOPT, STRUCT_ID) {
    var US = NOPT > 0 ? U : 0;
    var CS = US * C;
    signal input common;
    signal input hz[U][C];
    signal input hs[US][C];
    signal input ht[NOPT];
    signal output hash;

    component sponge = PoseidonSponge(3 + U * C + CS + NOPT);
    sponge.in[0] <== PARAM_DOMAIN();
    sponge.in[1] <== STRUCT_ID;
    sponge.in[2] <== common;
    for (var u = 0; u < U; u++) {
        for (var c = 0; c < C; c++) {
            sponge.in[3 + u * C + c] <== hz[u][c];
        }
    }
    for (var u = 0; u < US; u++) {
        for (var c = 0; c < C; c++) {
            sponge.in[3 + U * C + u * C + c] <== hs[u][c];
        }
    }
    for (var o = 0; o < NOPT; o++) {
        sponge.in[3 + U * C + CS + o] <== ht[o];
    }
    hash <== sponge.out;
}

/*
 * ParamHashFromZ(U, S, m, C, NOPT, STRUCT_ID)
 *   Inputs:   common[COMMON_LEN(U, m)], zhead[U][ZHEAD_LEN], z[S][U] (every
 *             scenario), hs[US][C], ht[NOPT].
 *   Outputs:  hash = the tree root, recomputing h_common and every
 *             hz[u][c] = sponge(zhead[u] ++ z[c S/C .. (c+1) S/C - 1][u]) (what
 *             the daily step and the revaluation open); hs and ht are leaves.
 *   Cost:     ceil(NC/15) + U C ceil((3 + S/C)/15) + the root's sponge, Poseidon(16).
 */
template ParamHashFromZ(U, S, m, C, NOPT, STRUCT_ID) {
    var NC = COMMON_LEN(U, m);
    var US = NOPT > 0 ? U : 0;
    var L = S \ C;
    assert(L * C == S);
    var H = ZHEAD_LEN();
    signal input common[NC];
    signal input zhead[U][H];
    signal input z[S][U];
    signal input hs[US][C];
    signal input ht[NOPT];
    signal output hash;

    component hc = PoseidonSponge(NC);
    hc.in <== common;
    component hz[U][C];
    component tree = ParamHashTree(U, C, NOPT, STRUCT_ID);
    for (var u = 0; u < U; u++) {
        for (var c = 0; c < C; c++) {
            hz[u][c] = PoseidonSponge(H + L);
            for (var i = 0; i < H; i++) {
                hz[u][c].in[i] <== zhead[u][i];
            }
            for (var i = 0; i < L; i++) {
                hz[u][c].in[H + i] <== z[c * L + i][u];
            }
            tree.hz[u][c] <== hz[u][c].out;
        }
    }
    tree.common <== hc.out;
    tree.hs <== hs;
    tree.ht <== ht;
    hash <== tree.hash;
}
