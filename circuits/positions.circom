pragma circom 2.1.0;

include "range.circom";
include "constants.circom";

// Number of options (kind 2 call, 3 put) among kinds[n].
function countOptions(kinds, n) {
    var c = 0;
    for (var i = 0; i < n; i++) {
        if (kinds[i] >= 2) {
            c++;
        }
    }
    return c;
}

// Underlying of each option series, in instrument order (length nOpt, padded to n).
function optionUnderlyings(kinds, under, n) {
    var out[1024];
    var o = 0;
    for (var i = 0; i < n; i++) {
        if (kinds[i] >= 2) {
            out[o] = under[i];
            o++;
        }
    }
    return out;
}

/*
 * AccountPositions(kinds, under, U, n): range checks and the per-underlying
 * netting of one account's positions (docs/PROVING.md §2).
 *   Parameters:  kinds[n] (0 spot, 1 perp, 2 call, 3 put), under[n] (underlying).
 *   Inputs:      qty[n] (QTY scale, signed), collateral[m] is checked by the caller.
 *   Outputs:     nq[u] = sum of qty over the linear instruments (spot, perp) on u;
 *                spotQty[u] = sum of qty over the spot instruments on u (their
 *                mark is price[u]; a perp's is 0); perpQty[u] = sum of qty over the
 *                perps on u (PerpBasisLoss); qOpt[o] = qty of option o.
 *                All four are linear in qty: no constraint after --O2.
 *   Proves:      qty[i] in [-2^40, 2^40) (SignedRange(41)). QTY's documented
 *                range is (-2^40, 2^40); the power-of-two check also admits
 *                -2^40, which the Python reference rejects before proving (both
 *                bound |qty| by 2^40, which is what soundness needs).
 *   Cost:        41 n.
 */
template AccountPositions(kinds, under, U, n) {
    var QTY_BITS = QTY_BITS();
    var nOpt = countOptions(kinds, n);
    signal input qty[n];
    signal output nq[U];
    signal output spotQty[U];
    signal output perpQty[U];
    signal output qOpt[nOpt];

    component qtyRange[n];
    var net[U];
    var spot[U];
    var perp[U];
    for (var u = 0; u < U; u++) {
        net[u] = 0;
        spot[u] = 0;
        perp[u] = 0;
    }
    var o = 0;
    for (var i = 0; i < n; i++) {
        qtyRange[i] = SignedRange(QTY_BITS + 1);
        qtyRange[i].in <== qty[i];
        if (kinds[i] >= 2) {
            qOpt[o] <== qty[i];
            o++;
        } else {
            net[under[i]] += qty[i];
            if (kinds[i] == 0) {
                spot[under[i]] += qty[i];
            } else {
                perp[under[i]] += qty[i];
            }
        }
    }
    for (var u = 0; u < U; u++) {
        nq[u] <== net[u];
        spotQty[u] <== spot[u];
        perpQty[u] <== perp[u];
    }
}
