pragma circom 2.1.0;

include "comparators.circom";
include "shift.circom";
include "piecewise.circom";
include "tables.circom";

/*
 * NormalCdf(dBits)
 *   Inputs:      bits[dBits]: the offset-binary digits of d + 2^(dBits-1), with d
 *                the argument at 2^20 (RoundShift's `bits` output, so d is
 *                already range-checked: |d| < 2^(dBits-21)).
 *   Outputs:     out = norm_cdf_fx(d) = N(d) at 2^32 (calcm.risk.fixed_transcendental),
 *                |out / 2^32 - N(d)| <= 2.5e-8.
 *   Proves:      t = the 20 fraction bits; segment = floor(d) mod 16 (bits 20..23);
 *                hi = floor(d / 2^23) from the high bits, and d in [-8, 8) iff
 *                hi (hi + 1) = 0 (IsZero); out = the rounded Horner value inside
 *                [-8, 8), else 2^32 [d >= 0] (N(8) = 1 - 6.2e-16). The Horner value
 *                is always on its own segment, so its rounding range check
 *                (33 bits) holds for every d.
 *   Cost:        3 + 18 + 7 + 177 + 1 = ~206.
 */
template NormalCdf(dBits) {
    var FRAC = 20;
    var DEG = 7;
    var SHIFT = 144;     // COEF_FRAC + FRAC * DEG - CDF_FRAC
    assert(dBits >= FRAC + 5);
    signal input bits[dBits];
    signal output out;

    var t = 0;
    for (var j = 0; j < FRAC; j++) {
        t += bits[j] * 2 ** j;
    }
    var hi = 0 - 2 ** (dBits - 1 - 23);
    for (var j = 23; j < dBits; j++) {
        hi += bits[j] * 2 ** (j - 23);
    }
    signal hh <== hi * (hi + 1);
    component inRange = IsZero();
    inRange.in <== hh;

    component dec = Decoder4();
    for (var j = 0; j < 4; j++) {
        dec.b[j] <== bits[FRAC + j];
    }
    component poly = PiecewiseHorner(DEG, FRAC, NORM_CDF_COEFS());
    poly.sel <== dec.sel;
    poly.t <== t;
    component round = RoundShiftUnsigned(SHIFT, 33);
    round.in <== poly.out;

    var clamp = bits[dBits - 1] * 2 ** 32;
    signal chosen <== inRange.out * (round.out - clamp);
    out <== chosen + clamp;
}
