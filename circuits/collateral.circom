pragma circom 2.1.0;

include "division.circom";
include "constants.circom";

/*
 * HaircutCollateralValue(m)
 *   Inputs:      amount[m] (QTY scale, range-checked by the caller to [0, 2^40)),
 *                price[m] (PRICE scale, >= 0), haircutBps[m] (< BPS).
 *   Outputs:     value = floor(sum_j amount[j] * price[j] * (BPS - haircutBps[j]) / BPS)
 *                (money, rounds down: collateral is credited conservatively).
 *   Proves:      FloorDiv by the constant BPS: remainder in [0, BPS),
 *                0 <= value < 2^63 (MONEY).
 *   Bit bounds:  each term < 2^40 * 2^48 * 2^14 = 2^102; m < 2^16 terms.
 *   Assumes:     price in [0, 2^48), haircutBps in [0, BPS): public model data
 *                validated by MarginModelFx before it is committed.
 *   Cost:        2m + 63 + 2 * 14.
 */
template HaircutCollateralValue(m) {
    var BPS = BPS();
    signal input amount[m];
    signal input price[m];
    signal input haircutBps[m];
    signal output value;

    signal gross[m];
    signal credited[m];
    var total = 0;
    for (var j = 0; j < m; j++) {
        gross[j] <== amount[j] * price[j];
        credited[j] <== gross[j] * (BPS - haircutBps[j]);
        total += credited[j];
    }
    component div = FloorDiv(MONEY_BITS(), BPS_BITS());
    div.num <== total;
    div.den <== BPS;
    value <== div.quot;
}
