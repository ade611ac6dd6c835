pragma circom 2.1.0;

include "price_pack.circom";
include "state_commitment.circom";
include "param_tree.circom";
include "asset_step.circom";
include "linear_model.circom";

/*
 * ModelStep(U, S, n, m, k, C, NOPT, STRUCT_ID): the daily step (docs/PROVING.md §5, §6).
 *
 * Public inputs (registry order): prevState, newState, linCommitment,
 * paramHash, context, packedPrices[ceil(U/5)]. No public outputs.
 *
 * Proves (calcm.risk.modelfx.update.step, bit for bit):
 *   1. prevState opens to (day, sigma2Prev, pricePrev);
 *   2. packedPrices pack the closes price[U], each in [1, 2^48);
 *   3. paramHash is the tree root over h_common (recomputed from common[]),
 *      every hz[u][c] (recomputed from zhead[u] and z) and the leaves hs[u][c],
 *      ht (private: this proof does not use them);
 *   4. per asset: return, GJR-GARCH, MPOR variance (with zhead[u] = A, B, F),
 *      sigma_h, move, floor (AssetStep);
 *   5. newState commits (day + 1, sigma2Next, price);
 *   6. linCommitment commits lin at the close with the new variance (LinearModel);
 *   7. context is bound by squaring.
 * Soundness assumptions: as ParamHashTree (published parameters were
 * range-checked) and StateCommitment (the genesis state was range-checked;
 * every later state is range-checked here). The registry checks the closes'
 * timestamps and that the day rises by one.
 */
template ModelStep(U, S, n, m, k, C, NOPT, STRUCT_ID) {
    var NC = COMMON_LEN(U, m);
    var US = NOPT > 0 ? U : 0;
    signal input prevState;
    signal input newState;
    signal input linCommitment;
    signal input paramHash;
    signal input context;
    signal input packedPrices[(U + 4) \ 5];

    signal input day;
    signal input sigma2Prev[U];
    signal input pricePrev[U];
    signal input price[U];
    signal input common[NC];
    signal input zhead[U][ZHEAD_LEN()];
    signal input z[S][U];
    signal input hs[US][C];
    signal input ht[NOPT];

    component prev = StateCommitment(U);
    prev.day <== day;
    prev.sigma2 <== sigma2Prev;
    prev.price <== pricePrev;
    prev.commitment === prevState;

    component pack = PricePack(U);
    pack.price <== price;
    pack.packed <== packedPrices;

    component params = ParamHashFromZ(U, S, m, C, NOPT, STRUCT_ID);
    params.common <== common;
    params.zhead <== zhead;
    params.z <== z;
    params.hs <== hs;
    params.ht <== ht;
    params.hash === paramHash;

    component asset[U];
    component next = StateCommitment(U);
    component linear = LinearModel(U, S, n, m, k, STRUCT_ID);
    for (var u = 0; u < U; u++) {
        asset[u] = AssetStep();
        asset[u].p0 <== pricePrev[u];
        asset[u].sigma2 <== sigma2Prev[u];
        asset[u].p1 <== price[u];
        asset[u].omega <== common[COMMON_ASSET(u, 0)];
        asset[u].alpha <== common[COMMON_ASSET(u, 1)];
        asset[u].gamma <== common[COMMON_ASSET(u, 2)];
        asset[u].beta <== common[COMMON_ASSET(u, 3)];
        asset[u].A <== zhead[u][0];
        asset[u].B <== zhead[u][1];
        asset[u].F <== zhead[u][2];
        asset[u].minRetBps <== common[COMMON_MINRET()];
        next.sigma2[u] <== asset[u].sigma2Next;
        linear.move[u] <== asset[u].move;
        linear.floor[u] <== asset[u].floor;
    }
    next.day <== day + 1;
    next.price <== price;
    next.commitment === newState;

    linear.z <== z;
    linear.price <== price;
    linear.common <== common;
    linear.linCommitment === linCommitment;

    signal contextSquared <== context * context;
}
