pragma circom 2.1.0;

include "comparators.circom";

/*
 * PartSelect(NOPT, C)
 *   Inputs:      part (public: the option part index j = o C + c).
 *   Outputs:     sel[NOPT C] one-hot of part, selO[NOPT] one-hot of o,
 *                selC[C] one-hot of c.
 *   Proves:      sel[j] = [part == j] (IsEqual), sum sel = 1, so part is in
 *                [0, NOPT C) and o, c are the unique digits of part.
 *   Cost:        2 NOPT C + 1.
 */
template PartSelect(NOPT, C) {
    signal input part;
    signal output sel[NOPT * C];
    signal output selO[NOPT];
    signal output selC[C];

    component eq[NOPT * C];
    var total = 0;
    for (var j = 0; j < NOPT * C; j++) {
        eq[j] = IsEqual();
        eq[j].in[0] <== part;
        eq[j].in[1] <== j;
        sel[j] <== eq[j].out;
        total += sel[j];
    }
    total === 1;
    for (var o = 0; o < NOPT; o++) {
        var so = 0;
        for (var c = 0; c < C; c++) {
            so += sel[o * C + c];
        }
        selO[o] <== so;
    }
    for (var c = 0; c < C; c++) {
        var sc = 0;
        for (var o = 0; o < NOPT; o++) {
            sc += sel[o * C + c];
        }
        selC[c] <== sc;
    }
}

/*
 * SelectedUnderlying(U, NOPT, optUnder, optPut)
 *   Inputs:      selO[NOPT] (one-hot of the option series o, from PartSelect),
 *                sigma2[U], price[U].
 *   Outputs:     sigma2Sel = sigma2[optUnder[o]], priceSel = price[optUnder[o]],
 *                isPut = optPut[o] (0 or 1).
 *   Proves:      the three outputs are the selected series' values: with selO
 *                one-hot, each is a sum of exactly one selected product.
 *   Parameters:  optUnder[o] (underlying index), optPut[o] (1 for a put): structure.
 *   Cost:        2 NOPT.
 */
template SelectedUnderlying(U, NOPT, optUnder, optPut) {
    signal input selO[NOPT];
    signal input sigma2[U];
    signal input price[U];
    signal output sigma2Sel;
    signal output priceSel;
    signal output isPut;

    signal ps2[NOPT], pp[NOPT];
    var s2 = 0;
    var pu = 0;
    var put = 0;
    for (var o = 0; o < NOPT; o++) {
        ps2[o] <== selO[o] * sigma2[optUnder[o]];
        pp[o] <== selO[o] * price[optUnder[o]];
        s2 += ps2[o];
        pu += pp[o];
        put += optPut[o] * selO[o];
    }
    sigma2Sel <== s2;
    priceSel <== pu;
    isPut <== put;
}
