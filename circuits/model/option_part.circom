pragma circom 2.1.0;

include "price_pack.circom";
include "state_commitment.circom";
include "param_tree.circom";
include "sponge_absorb.circom";
include "part_select.circom";
include "option_value.circom";

/*
 * PartLeaves(U, m, C, NOPT, optUnder, STRUCT_ID)
 *   Inputs:   sel[NOPT C], selO (PartSelect), common[NC], hz[U][C],
 *             hs[U][C], ht[NOPT] (the tree's leaves), zc[ZHEAD_LEN + L] (the
 *             chunk's [A, B, F] head and z values), shc[2 L] (the chunk's
 *             (vol, skew) shock pairs of the underlying), terms[8].
 *   Outputs:  root (paramHash). Proves, with u = optUnder[o] for the selected
 *             (o, c): hz[u][c] = sponge(zc), hs[u][c] = sponge(shc), ht[o] = sponge(terms).
 */
template PartLeaves(U, m, C, NOPT, optUnder, L, STRUCT_ID) {
    signal input sel[NOPT * C];
    signal input selO[NOPT];
    signal input common[COMMON_LEN(U, m)];
    signal input hz[U][C];
    signal input hs[U][C];
    signal input ht[NOPT];
    signal input zc[ZHEAD_LEN() + L];
    signal input shc[2 * L];
    signal input terms[8];
    signal output root;

    component hc = PoseidonSponge(COMMON_LEN(U, m));
    hc.in <== common;
    component tree = ParamHashTree(U, C, NOPT, STRUCT_ID);
    tree.common <== hc.out;
    tree.hz <== hz;
    tree.hs <== hs;
    tree.ht <== ht;
    root <== tree.hash;

    component hzc = PoseidonSponge(ZHEAD_LEN() + L);
    hzc.in <== zc;
    component hsc = PoseidonSponge(2 * L);
    hsc.in <== shc;
    component htc = PoseidonSponge(8);
    htc.in <== terms;
    signal pz[NOPT * C];
    signal ps[NOPT * C];
    signal pt[NOPT];
    var sz = 0;
    var ss = 0;
    var st = 0;
    for (var o = 0; o < NOPT; o++) {
        for (var c = 0; c < C; c++) {
            pz[o * C + c] <== sel[o * C + c] * hz[optUnder[o]][c];
            sz += pz[o * C + c];
            ps[o * C + c] <== sel[o * C + c] * hs[optUnder[o]][c];
            ss += ps[o * C + c];
        }
        pt[o] <== selO[o] * ht[o];
        st += pt[o];
    }
    hzc.out === sz;
    hsc.out === ss;
    htc.out === st;
}

/*
 * OptionPart(U, S, m, C, NOPT, optUnder, optPut, STRUCT_ID): option part
 * j = o C + c (docs/PROVING.md §3, §6): ONE shape for every part.
 *
 * Public inputs (registry order): state, prevOptSponge, nextOptSponge,
 * paramHash, part, packedPrices[ceil(U/5)]. No public outputs.
 *
 * Proves (calcm.risk.modelfx.update.option_part, bit for bit): state opens to
 * (day, sigma2, statePrice) (its variance is used, not its prices) and
 * packedPrices pack price, the revaluation prices; (o, c) are the digits of
 * part (PartSelect); paramHash is the tree root, with the chunk's z and
 * (vol, skew) shocks of o's underlying u (hz[u][c] after its [A, B, F] head,
 * hs[u][c]) and o's terms opened as its leaves (PartLeaves); the underlying's
 * move at (sigma2, price) with that head (AssetMove: A, B, F are the
 * underlying's, hash-bound); base Black-76 (mark, exposure); o's moneyness
 * and each chunk scenario's vol multiplier u and its pinned reciprocal w from
 * those shocks (PartVols); every chunk scenario's P&L at iv u / 2^16;
 * nextOptSponge = absorb(prevOptSponge, pad15([mark, expo] ++ pnl)).
 * Parameters: optUnder[o], optPut[o] (kind 3) per option series (structure).
 * Soundness: as ModelStep; the registry chains parts from prevOptSponge = 0.
 */
template OptionPart(U, S, m, C, NOPT, optUnder, optPut, STRUCT_ID) {
    var L = S \ C;
    var H = ZHEAD_LEN();
    signal input state, prevOptSponge, nextOptSponge, paramHash, part;
    signal input packedPrices[(U + 4) \ 5];
    signal input day, sigma2[U], statePrice[U], price[U];
    signal input common[COMMON_LEN(U, m)], hz[U][C], hs[U][C], ht[NOPT];
    signal input zc[H + L], shc[2 * L], terms[8];

    component st = StateCommitment(U);
    st.day <== day;
    st.sigma2 <== sigma2;
    st.price <== statePrice;
    st.commitment === state;
    component pack = PricePack(U);
    pack.price <== price;
    pack.packed <== packedPrices;

    component sel = PartSelect(NOPT, C);
    sel.part <== part;
    component leaves = PartLeaves(U, m, C, NOPT, optUnder, L, STRUCT_ID);
    leaves.sel <== sel.sel;
    leaves.selO <== sel.selO;
    leaves.common <== common;
    leaves.hz <== hz;
    leaves.hs <== hs;
    leaves.ht <== ht;
    leaves.zc <== zc;
    leaves.shc <== shc;
    leaves.terms <== terms;
    leaves.root === paramHash;

    component und = SelectedUnderlying(U, NOPT, optUnder, optPut);
    und.selO <== sel.selO;
    und.sigma2 <== sigma2;
    und.price <== price;
    signal pu <== und.priceSel;
    signal isPut <== und.isPut;
    component am = AssetMove();
    am.sigma2 <== und.sigma2Sel;
    am.price <== pu;
    am.A <== zc[0];
    am.B <== zc[1];
    am.F <== zc[2];
    am.minRetBps <== common[COMMON_MINRET()];

    component base = OptionBase();
    base.price <== pu;
    base.isPut <== isPut;
    base.terms <== terms;
    component sponge = SpongeAbsorb(2 + L);
    sponge.init <== prevOptSponge;
    sponge.in[0] <== base.mark;
    sponge.in[1] <== base.expo;
    component vol = PartVols(L);
    vol.shc <== shc;
    vol.lnK <== terms[3];
    vol.lnF <== base.lnF;
    component scen[L];
    for (var i = 0; i < L; i++) {
        scen[i] = OptionScenario();
        scen[i].z <== zc[H + i];
        scen[i].move <== am.move;
        scen[i].floor <== am.floor;
        scen[i].price <== pu;
        scen[i].base <== base.value;
        scen[i].isPut <== isPut;
        scen[i].terms <== terms;
        scen[i].u <== vol.u[i];
        scen[i].w <== vol.w[i];
        sponge.in[2 + i] <== scen[i].pnl;
    }
    sponge.out === nextOptSponge;
}
