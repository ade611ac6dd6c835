pragma circom 2.1.0;

/*
 * Equity(U, nOpt)
 *   Inputs:      collateralValue (money), spotQty[U] (net spot quantity per
 *                underlying, QTY), price[U] (PRICE), qOpt[nOpt] (QTY),
 *                optMark[nOpt] (PRICE, option premiums).
 *   Outputs:     equity = collateralValue + sum_u spotQty[u] price[u]
 *                         + sum_o qOpt[o] optMark[o]                 (money).
 *                Perpetuals have mark 0 and do not appear.
 *   Bit bounds:  |equity| < 2^63 + 2^98; its range is enforced where it is
 *                compared (HealthTier), which is the only place it is used.
 *   Cost:        U + nOpt constraints.
 */
template Equity(U, nOpt) {
    signal input collateralValue;
    signal input spotQty[U];
    signal input price[U];
    signal input qOpt[nOpt];
    signal input optMark[nOpt];
    signal output equity;

    signal spot[U];
    signal prem[nOpt];
    var acc = collateralValue;
    for (var u = 0; u < U; u++) {
        spot[u] <== spotQty[u] * price[u];
        acc += spot[u];
    }
    for (var o = 0; o < nOpt; o++) {
        prem[o] <== qOpt[o] * optMark[o];
        acc += prem[o];
    }
    equity <== acc;
}
