pragma circom 2.1.0;

/*
 * Decoder4()
 *   Inputs:      b[4], each ALREADY boolean (the caller's bit decomposition).
 *   Outputs:     sel[16], one-hot: sel[i] = 1 iff i = b0 + 2 b1 + 4 b2 + 8 b3.
 *   Proves:      two 2-bit decoders (one product each; the other three lines are
 *                linear in the bits and that product) and their 16 products.
 *   Cost:        18.
 */
template Decoder4() {
    signal input b[4];
    signal output sel[16];

    signal p01 <== b[0] * b[1];
    signal p23 <== b[2] * b[3];
    var lo[4] = [1 - b[0] - b[1] + p01, b[0] - p01, b[1] - p01, p01];
    var hi[4] = [1 - b[2] - b[3] + p23, b[2] - p23, b[3] - p23, p23];
    for (var j = 0; j < 4; j++) {
        for (var i = 0; i < 4; i++) {
            sel[i + 4 * j] <== lo[i] * hi[j];
        }
    }
}

/*
 * PiecewiseHorner(D, tBits, coefs)
 *   Inputs:      sel[16] (one-hot segment, from Decoder4), t (local variable,
 *                0 <= t < 2^tBits, from the caller's bit decomposition).
 *   Outputs:     out = sum_k c_k t^k 2^(tBits (D - k)) EXACTLY (Horner's rule in
 *                integers, no rounding), c = coefs[segment]; the caller rounds
 *                once (calcm.risk.fixed_transcendental.horner).
 *   Proves:      each coefficient is the linear combination sum_j sel[j] coefs[j][k]
 *                (free), each Horner step one product.
 *   Bit bounds:  |out| < 2^(max |c| bits + tBits D + 1), below p/2 for the tables
 *                used (asserted in calcm.fixedpoint).
 *   Cost:        D.
 */
template PiecewiseHorner(D, tBits, coefs) {
    signal input sel[16];
    signal input t;
    signal output out;

    var c[D + 1];
    for (var k = 0; k <= D; k++) {
        c[k] = 0;
        for (var j = 0; j < 16; j++) {
            c[k] += sel[j] * coefs[j][k];
        }
    }
    signal acc[D + 1];
    acc[D] <== c[D];
    signal prod[D];
    for (var k = D - 1; k >= 0; k--) {
        prod[k] <== acc[k + 1] * t;
        acc[k] <== prod[k] + c[k] * 2 ** (tBits * (D - k));
    }
    out <== acc[0];
}
