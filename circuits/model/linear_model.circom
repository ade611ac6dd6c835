pragma circom 2.1.0;

include "sponge.circom";
include "tables.circom";
include "asset_step.circom";
include "param_tree.circom";

/*
 * LinearModel(U, S, n, m, k, STRUCT_ID)
 *   Inputs:      move[U], floor[U] (AssetMove / AssetStep at the revaluation
 *                prices), z[S][U] (hashed into paramHash by the caller),
 *                price[U] (PricePack-checked), common[COMMON_LEN(U, m)] (the
 *                h_common preimage, hashed by the caller).
 *   Outputs:     lin[S][U] = max(rdiv(z move, 20), floor) (ScenarioMove), and
 *                linCommitment = sponge([MODEL_DOMAIN, STRUCT_ID, S, U, n, m, k,
 *                imBufferBps, warnBufferBps] ++ price ++ adv ++ weightBps ++
 *                haircutBps ++ lin asset-major) (docs/PROVING.md §3;
 *                calcm.risk.modelfx.commit.lin_elements).
 *   Parameters:  the structure; S, U, n, m, k are hashed as constants.
 *   Cost:        71 S U + ceil((9 + 3U + m + S U) / 15) Poseidon(16).
 */
template LinearModel(U, S, n, m, k, STRUCT_ID) {
    var NC = COMMON_LEN(U, m);
    var HEAD = 9;
    signal input move[U];
    signal input floor[U];
    signal input z[S][U];
    signal input price[U];
    signal input common[NC];
    signal output lin[S][U];
    signal output linCommitment;

    component mv[S][U];
    component sponge = PoseidonSponge(HEAD + 3 * U + m + S * U);
    var head[HEAD] = [MODEL_DOMAIN(), STRUCT_ID, S, U, n, m, k, 0, 0];
    for (var i = 0; i < HEAD - 2; i++) {
        sponge.in[i] <== head[i];
    }
    sponge.in[HEAD - 2] <== common[COMMON_IM()];
    sponge.in[HEAD - 1] <== common[COMMON_WARN()];
    for (var u = 0; u < U; u++) {
        sponge.in[HEAD + u] <== price[u];
        sponge.in[HEAD + U + u] <== common[COMMON_ASSET(u, 4)];
        sponge.in[HEAD + 2 * U + u] <== common[COMMON_ASSET(u, 5)];
    }
    for (var j = 0; j < m; j++) {
        sponge.in[HEAD + 3 * U + j] <== common[COMMON_HAIRCUT(U, j)];
    }
    var at = HEAD + 3 * U + m;
    for (var u = 0; u < U; u++) {
        for (var s = 0; s < S; s++) {
            mv[s][u] = ScenarioMove();
            mv[s][u].z <== z[s][u];
            mv[s][u].move <== move[u];
            mv[s][u].floor <== floor[u];
            lin[s][u] <== mv[s][u].lin;
            sponge.in[at + u * S + s] <== mv[s][u].lin;
        }
    }
    linCommitment <== sponge.out;
}
