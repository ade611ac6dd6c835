pragma circom 2.1.0;

/*
 * ScenarioLosses(S, U, nOpt)
 *   Inputs:      nq[U] (net linear quantity per underlying, QTY, |nq| < n 2^40),
 *                qOpt[nOpt] (option quantities, QTY), lin[S][U] and opt[S][nOpt]
 *                (PRICE, the committed per-unit scenario P&L), shift (money, the
 *                account's PerpBasisLoss charge, 0 <= shift < n 2^88).
 *   Outputs:     loss[s] = shift - (sum_u nq[u] lin[s][u] + sum_o qOpt[o] opt[s][o])
 *                (MONEY = QTY * PRICE, no rescale; positive = a loss).
 *   Bit bounds:  |loss| <= 2 sum_i |q_i| 2^48 < n 2^89 <= 2^99 for n <= 2^10
 *                (the P&L terms and the charge each cover every position at most once).
 *   Cost:        U + nOpt constraints per scenario (one product each).
 *   Notes:       loss is not range-checked here: TailSum bounds every |loss - t|
 *                and the ES quotient is range-checked.
 */
template ScenarioLosses(S, U, nOpt) {
    signal input nq[U];
    signal input qOpt[nOpt];
    signal input lin[S][U];
    signal input opt[S][nOpt];
    signal input shift;
    signal output loss[S];

    signal prodLin[S][U];
    signal prodOpt[S][nOpt];
    for (var s = 0; s < S; s++) {
        var acc = 0;
        for (var u = 0; u < U; u++) {
            prodLin[s][u] <== nq[u] * lin[s][u];
            acc += prodLin[s][u];
        }
        for (var o = 0; o < nOpt; o++) {
            prodOpt[s][o] <== qOpt[o] * opt[s][o];
            acc += prodOpt[s][o];
        }
        loss[s] <== shift - acc;
    }
}
