pragma circom 2.1.0;

include "range.circom";
include "constants.circom";

/*
 * MarginParamRanges(U, m): the ranges of the governance parameters the margin circuit
 * consumes, checked where they enter it (once per batch; issue 13 A4).
 *   Inputs:      haircutBps[m], weightBps[U], imBufferBps, warnBufferBps, perpMove[U] (values
 *                linCommitment binds; calcm.risk.fixed_margin.MarginModelFx).
 *   Proves:      0 <= haircutBps[j] < BPS          (collateral is never credited above
 *                                                   its value, nor negatively),
 *                0 <= weightBps[u] < 2^RATE_BITS,
 *                0 <= imBufferBps < 2^RATE_BITS    (im >= mm: HealthTier's nesting),
 *                0 <= warnBufferBps < 2^RATE_BITS  (the warning line >= im),
 *                0 <= perpMove[u] < 2^PRICE_BITS   (the perp charge is never a credit,
 *                                                   whatever the commitment binds),
 *                exactly the half-open ranges MarginModelFx validates (two one-sided
 *                checks where the range ends below a power of two).
 *   Constants:   BPS, BPS_BITS, RATE_BITS, ADV_BITS from the generated
 *                constants.circom (calcm.zk.circuit_constants, from calcm.fixedpoint).
 *   Not here:    adv: LiquidityAddon's RemainderBelow(95) already proves its divisor
 *                1 <= adv * 10^14 < 2^95 (so 1 <= adv < 2^48.5: the division is
 *                exact and nonzero for every account, only 1.4x wider than ADV);
 *                price, lin, opt, optMark, optExpo are outputs of the model circuits
 *                (PricePack range-checks the prices, the scenario moves and option
 *                values are range-bound where they are computed), not parameters.
 *   Soundness:   none beyond range.circom's bit bounds (every width <= 48).
 *   Cost:        2 BPS_BITS m + RATE_BITS (U + 2) + PRICE_BITS U: 216 on the SMALL shape (U = m = 2),
 *                so SMALL stays below 2^13 constraints (a power-13 ptau).
 */
template MarginParamRanges(U, m) {
    signal input haircutBps[m];
    signal input weightBps[U];
    signal input imBufferBps;
    signal input warnBufferBps;
    signal input perpMove[U];

    component hLow[m];
    component hHigh[m];
    for (var j = 0; j < m; j++) {
        hLow[j] = UnsignedRange(BPS_BITS());
        hLow[j].in <== haircutBps[j];
        hHigh[j] = UnsignedRange(BPS_BITS());
        hHigh[j].in <== BPS() - 1 - haircutBps[j];
    }
    component weight[U];
    for (var u = 0; u < U; u++) {
        weight[u] = UnsignedRange(RATE_BITS());
        weight[u].in <== weightBps[u];
    }
    component im = UnsignedRange(RATE_BITS());
    im.in <== imBufferBps;
    component warn = UnsignedRange(RATE_BITS());
    warn.in <== warnBufferBps;
    component perp[U];
    for (var u = 0; u < U; u++) {
        perp[u] = UnsignedRange(PRICE_BITS());
        perp[u].in <== perpMove[u];
    }
}
