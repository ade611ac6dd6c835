pragma circom 2.1.0;

include "sponge.circom";
include "tables.circom";
include "asset_step.circom";
include "param_tree.circom";
include "division.circom";
include "../constants.circom";

/*
 * LinearModel(U, S, n, m, k, STRUCT_ID)
 *   Inputs:      move[U], floor[U] (AssetMove / AssetStep at the revaluation
 *                prices), z[S][U] (hashed into paramHash by the caller),
 *                price[U] (PricePack-checked), common[COMMON_LEN(U, m)] (the
 *                h_common preimage, hashed by the caller).
 *   Outputs:     lin[S][U] = max(rdiv(z move, 20), floor) (ScenarioMove), and
 *                linCommitment = sponge([MODEL_DOMAIN, STRUCT_ID, S, U, n, m, k,
 *                imBufferBps, warnBufferBps] ++ price ++ adv ++ weightBps ++
 *                haircutBps ++ perpMove ++ lin asset-major) (docs/PROVING.md §3;
 *                calcm.risk.modelfx.commit.lin_elements).
 *                perpMove[u] = ceil(price[u] perpShockBps[u] / BPS) (PerpMove).
 *   Parameters:  the structure; S, U, n, m, k are hashed as constants.
 *   Cost:        71 S U + ceil((9 + 4U + m + S U) / 15) Poseidon(16).
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
    component perp[U];
    component sponge = PoseidonSponge(HEAD + 4 * U + m + S * U);
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
    for (var u = 0; u < U; u++) {
        perp[u] = PerpMove();
        perp[u].price <== price[u];
        perp[u].shockBps <== common[COMMON_ASSET(u, 6)];
        sponge.in[HEAD + 3 * U + m + u] <== perp[u].move;
    }
    var at = HEAD + 4 * U + m;
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

/*
 * PerpMove(): the adverse per-unit perp basis + funding move of one asset over the
 * MPOR (docs/MODEL.md "Perps: basis and funding"; calcm.risk.modelfx.update.perp_moves).
 *   Inputs:      price (PRICE, 0 < price < 2^48: PricePack), shockBps (the published
 *                perp_shock_bps of h_common).
 *   Outputs:     move = ceil(price shockBps / BPS), 0 <= move < 2^48 (PRICE).
 *   Proves:      0 <= shockBps < 2^RATE_BITS (so the product < 2^64 cannot wrap),
 *                then CeilDiv by the constant BPS with the quotient in PRICE's range.
 *   Cost:        RATE_BITS + 1 + 48 + 2 BPS_BITS.
 */
template PerpMove() {
    signal input price;
    signal input shockBps;
    signal output move;

    component rate = UnsignedRange(RATE_BITS());
    rate.in <== shockBps;
    signal scaled;
    scaled <== price * shockBps;
    component div = CeilDiv(PRICE_BITS(), BPS_BITS());
    div.num <== scaled;
    div.den <== BPS();
    move <== div.quot;
}
