pragma circom 2.1.0;

/*
 * Equity(n)
 *   Inputs:      collateralValue (money), qty[n] (QTY), mark[n] (PRICE).
 *   Outputs:     equity = collateralValue + sum_i qty[i] * mark[i]   (money).
 *   Bit bounds:  |equity| < 2^63 + 2^98; its range is enforced where it is
 *                compared (HealthTier), which is the only place it is used.
 *   Cost:        n constraints.
 */
template Equity(n) {
    signal input collateralValue;
    signal input qty[n];
    signal input mark[n];
    signal output equity;

    signal prod[n];
    var acc = collateralValue;
    for (var i = 0; i < n; i++) {
        prod[i] <== qty[i] * mark[i];
        acc += prod[i];
    }
    equity <== acc;
}
