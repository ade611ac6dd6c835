pragma circom 2.1.0;

/*
 * ScenarioLosses(S, n)
 *   Inputs:      qty[n] (QTY scale, range-checked by the caller), pnl[S][n]
 *                (PRICE scale, the committed public P&L matrix).
 *   Outputs:     loss[s] = -sum_i qty[i] * pnl[s][i]  (MONEY scale = QTY * PRICE,
 *                so no rescale), positive = a loss.
 *   Bit bounds:  |qty| < 2^40, |pnl| < 2^48, n <= 2^10: |loss| < 2^98, far below p/2.
 *   Cost:        n constraints per scenario (pnl is a signal: one product each).
 *   Notes:       loss is not range-checked here: the tail check bounds every
 *                |loss - threshold| and the ES quotient is range-checked.
 */
template ScenarioLosses(S, n) {
    signal input qty[n];
    signal input pnl[S][n];
    signal output loss[S];

    signal prod[S][n];
    for (var s = 0; s < S; s++) {
        var acc = 0;
        for (var i = 0; i < n; i++) {
            prod[s][i] <== qty[i] * pnl[s][i];
            acc += prod[s][i];
        }
        loss[s] <== -acc;
    }
}
