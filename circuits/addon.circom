pragma circom 2.1.0;

include "division.circom";
include "constants.circom";

/*
 * LiquidityAddon(U, nOpt, optUnder): the concentration / liquidity add-on.
 *   Parameters:  optUnder[nOpt]: the underlying index of each option series.
 *   Inputs:      nq[U] (net linear quantity per underlying, QTY), price[U] (PRICE),
 *                qOpt[nOpt] (QTY), optExpo[nOpt] (PRICE: option delta notional per
 *                unit), adv[U] (whole USD, >= 1), weightBps[U] (bps).
 *   Outputs:     x[u] = nq[u] price[u] + sum_{o on u} qOpt[o] optExpo[o]   (money)
 *                term[u] = ceil(weightBps[u] * x[u]^2 / (adv[u] * BPS * MONEY_SCALE))
 *                addon = sum_u term[u]                           (money, rounds up)
 *   Proves:      each term by CeilDiv (remainder below the divisor, quotient in
 *                [0, 2^63)).
 *   Bit bounds:  |x| < 2^98 (n <= 2^10), weight < 2^16: weight*x^2 < 2^212 < p/2
 *                without any range check on x. Divisor adv * 10^14 < 2^95 (adv <
 *                2^48), so the remainder needs 95 bits; quotient < 2^63 (MONEY).
 *   Assumes:     adv in [1, 2^48) and weightBps in [0, 2^16): public model data,
 *                validated by MarginModelFx before it is committed.
 *   Cost:        nOpt + U (1 + 3 + 63 + 2 * 95).
 */
template LiquidityAddon(U, nOpt, optUnder) {
    var BPS = BPS();
    var MONEY_SCALE = MONEY_SCALE();
    var DEN_BITS = 95;
    var Q_BITS = MONEY_BITS();
    signal input nq[U];
    signal input price[U];
    signal input qOpt[nOpt];
    signal input optExpo[nOpt];
    signal input adv[U];
    signal input weightBps[U];
    signal output x[U];
    signal output term[U];
    signal output addon;

    signal linX[U];
    signal optX[nOpt];
    for (var o = 0; o < nOpt; o++) {
        optX[o] <== qOpt[o] * optExpo[o];
    }
    signal x2[U];
    signal wx2[U];
    component div[U];
    var total = 0;
    for (var u = 0; u < U; u++) {
        linX[u] <== nq[u] * price[u];
        var acc = linX[u];
        for (var o = 0; o < nOpt; o++) {
            if (optUnder[o] == u) {
                acc += optX[o];
            }
        }
        x[u] <== acc;
        x2[u] <== x[u] * x[u];
        wx2[u] <== weightBps[u] * x2[u];
        div[u] = CeilDiv(Q_BITS, DEN_BITS);
        div[u].num <== wx2[u];
        div[u].den <== adv[u] * (BPS * MONEY_SCALE);
        term[u] <== div[u].quot;
        total += term[u];
    }
    addon <== total;
}
