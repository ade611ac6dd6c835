pragma circom 2.1.0;

include "bitify.circom";
include "shift.circom";
include "piecewise.circom";
include "tables.circom";

// 49 - floor(log2 x) for 1 <= x < 2^50 (witness hint only).
function ln_shift_hint(x) {
    var e = 0;
    while ((x >> (e + 1)) > 0) {
        e++;
    }
    return 49 - e;
}

/*
 * LnInt()
 *   Inputs:      x, an integer with 1 <= x < 2^50 (the caller's range: a price
 *                or a scenario price in micro-USD).
 *   Outputs:     out = ln_fx(x), ln(x) at 2^32 (calcm.risk.fixed_transcendental),
 *                |out / 2^32 - ln x| <= 4.3e-9.
 *   Proves:      range reduction y = x * 2^e' with y in [2^49, 2^50): e' from six
 *                boolean bits (e' <= 49), 2^e' as a product of selected powers, and
 *                y - 2^49 in 49 bits. For x >= 1 exactly one e' passes, so the
 *                witness cannot pick another exponent. The 4 bits below the
 *                leading one select the segment (Decoder4), the next 24 are t; the
 *                Horner value plus e ln 2 (e = 49 - e') is rounded once.
 *   Cost:        6 + 5 + 6 + 1 + 49 + 18 + 4 + 138 = ~227.
 */
template LnInt() {
    var TOP = 49;
    var SEG = 4;
    var TB = 24;
    var DEG = 4;
    var SHIFT = 100;     // COEF_FRAC + TB * DEG - LN_FRAC
    signal input x;
    signal output out;

    signal eb[6];
    var ep = ln_shift_hint(x);
    var epSum = 0;
    for (var j = 0; j < 6; j++) {
        eb[j] <-- (ep >> j) & 1;
        // Pins the hint bits to booleans; their value is pinned by y's range below.
        eb[j] * (eb[j] - 1) === 0;
        epSum += eb[j] * 2 ** j;
    }
    component epMax = Num2Bits(6);
    epMax.in <== TOP - epSum;
    // pow = 2^e' = prod_j (1 + eb[j] (2^(2^j) - 1)).
    signal pow[6];
    pow[0] <== 1 + eb[0];
    for (var j = 1; j < 6; j++) {
        pow[j] <== pow[j - 1] * (1 + eb[j] * (2 ** (2 ** j) - 1));
    }
    signal y <== x * pow[5];
    component yb = Num2Bits(TOP);
    yb.in <== y - 2 ** TOP;

    component dec = Decoder4();
    for (var j = 0; j < SEG; j++) {
        dec.b[j] <== yb.out[TOP - SEG + j];
    }
    var t = 0;
    for (var j = 0; j < TB; j++) {
        t += yb.out[TOP - SEG - TB + j] * 2 ** j;
    }
    component poly = PiecewiseHorner(DEG, TB, LN_COEFS());
    poly.sel <== dec.sel;
    poly.t <== t;
    component round = RoundShiftUnsigned(SHIFT, 38);
    round.in <== poly.out + (TOP - epSum) * LN2_HORNER();
    out <== round.out;
}
