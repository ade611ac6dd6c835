pragma circom 2.1.0;

include "price_pack.circom";
include "state_commitment.circom";
include "param_tree.circom";
include "asset_step.circom";
include "linear_model.circom";

/*
 * ModelReval(U, S, n, m, k, C, NOPT, STRUCT_ID): the intraday linear
 * revaluation (docs/PROVING.md §5, §6).
 *
 * Public inputs (registry order): state, linCommitment, paramHash, context,
 * packedPrices[ceil(U/5)]. No public outputs.
 *
 * Proves (calcm.risk.modelfx.update.reval, bit for bit):
 *   1. state opens to (day, sigma2, statePrice) and is NOT changed (the
 *      variance is the state's; its prices are not used);
 *   2. packedPrices pack price[U], each in [1, 2^48);
 *   3. paramHash is the tree root (as ModelStep, with zhead[u] in every hz[u][c]);
 *   4. per asset: MPOR variance, sigma_h, move and floor at (sigma2, price),
 *      with zhead[u] = [A, B, F] (AssetMove);
 *   5. linCommitment commits lin at price (LinearModel);
 *   6. context is bound by squaring.
 * Soundness assumptions: as ModelStep.
 */
template ModelReval(U, S, n, m, k, C, NOPT, STRUCT_ID) {
    var NC = COMMON_LEN(U, m);
    var US = NOPT > 0 ? U : 0;
    signal input state;
    signal input linCommitment;
    signal input paramHash;
    signal input context;
    signal input packedPrices[(U + 4) \ 5];

    signal input day;
    signal input sigma2[U];
    signal input statePrice[U];
    signal input price[U];
    signal input common[NC];
    signal input zhead[U][ZHEAD_LEN()];
    signal input z[S][U];
    signal input hs[US][C];
    signal input ht[NOPT];

    component st = StateCommitment(U);
    st.day <== day;
    st.sigma2 <== sigma2;
    st.price <== statePrice;
    st.commitment === state;

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
    component linear = LinearModel(U, S, n, m, k, STRUCT_ID);
    for (var u = 0; u < U; u++) {
        asset[u] = AssetMove();
        asset[u].sigma2 <== sigma2[u];
        asset[u].price <== price[u];
        asset[u].A <== zhead[u][0];
        asset[u].B <== zhead[u][1];
        asset[u].F <== zhead[u][2];
        asset[u].minRetBps <== common[COMMON_MINRET()];
        linear.move[u] <== asset[u].move;
        linear.floor[u] <== asset[u].floor;
    }
    linear.z <== z;
    linear.price <== price;
    linear.common <== common;
    linear.linCommitment === linCommitment;

    signal contextSquared <== context * context;
}
