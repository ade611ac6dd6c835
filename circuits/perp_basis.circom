pragma circom 2.1.0;

include "range.circom";
include "constants.circom";

// The number of perps (kind 1) on underlying u.
function perpCount(kinds, under, n, u) {
    var c = 0;
    for (var i = 0; i < n; i++) {
        if (kinds[i] == 1 && under[i] == u) {
            c++;
        }
    }
    return c;
}

/*
 * PerpBasisLoss(kinds, under, U, n): the adverse perp basis + funding loss of one
 * account, which every scenario's loss carries (docs/MODEL.md "Perps: basis and
 * funding"; calcm.risk.fixed_margin.perp_charge_fx).
 *   Parameters:  the structure kinds[n], under[n]; only underlyings with a perp get
 *                constraints (AccountPositions' perpQty is 0 elsewhere).
 *   Inputs:      perpQty[U] (net perp quantity, QTY: |perpQty[u]| < c_u 2^40 for c_u
 *                perps on u), perpMove[U] (PRICE, 0 <= perpMove < 2^PRICE_BITS: the model
 *                circuit's ceil(price shockBps / BPS), bound by linCommitment).
 *   Outputs:     charge = sum_u |perpQty[u]| perpMove[u]   (money, exact: no rounding).
 *   Proves:      |perpQty[u]| through PerpLeg's sign bit.
 *   Bit bounds:  charge <= sum_i |q_i| 2^48 < n 2^88: the same bound as the scenario
 *                P&L terms (ScenarioLosses).
 *   Soundness:   perpMove is bound by linCommitment and range-checked once per batch
 *                (MarginParamRanges); nothing else is assumed.
 *   Cost:        43 + bits(c_u - 1) per underlying with a perp; 0 without perps.
 */
template PerpBasisLoss(kinds, under, U, n) {
    signal input perpQty[U];
    signal input perpMove[U];
    signal output charge;

    component leg[U];
    var acc = 0;
    for (var u = 0; u < U; u++) {
        var c = perpCount(kinds, under, n, u);
        if (c > 0) {
            var extra = 0;
            while (2 ** extra < c) {
                extra++;
            }
            leg[u] = PerpLeg(QTY_BITS() + 1 + extra);
            leg[u].qty <== perpQty[u];
            leg[u].move <== perpMove[u];
            acc += leg[u].loss;
        }
    }
    charge <== acc;
}

/*
 * PerpLeg(B): loss = |qty| move for one underlying's net perp quantity.
 *   Inputs:      qty, a signed sum of perp quantities with -2^(B-1) <= qty < 2^(B-1)
 *                (QTY range per instrument, summed); move (PRICE, < 2^48).
 *   Proves:      |qty| = (2 nonneg - 1) qty with nonneg SignedRange(B)'s sign bit
 *                (a nonzero qty has one sign in that window, so |qty| is unique).
 *   Cost:        B + 2.
 */
template PerpLeg(B) {
    signal input qty;
    signal input move;
    signal output loss;

    component sign = SignedRange(B);
    sign.in <== qty;
    signal absQty;
    absQty <== (2 * sign.nonneg - 1) * qty;
    loss <== absQty * move;
}
