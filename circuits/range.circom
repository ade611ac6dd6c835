pragma circom 2.1.0;

include "bitify.circom";

/*
 * Range checks by offset, built on circomlib's Num2Bits.
 *
 * UnsignedRange(b)
 *   Proves:      0 <= in < 2^b (as an integer; no wrap-around).
 *   Bit bounds:  1 <= b <= 252, so 2^b < p/2 and the decomposition is unique.
 *   Cost:        b constraints (the recomposition is linear and folded by --O2).
 *
 * SignedRange(b)
 *   Proves:      -2^(b-1) <= in < 2^(b-1), reading `in` as a signed integer
 *                (negative x is the field element p - |x|), by checking the
 *                offset value in + 2^(b-1) in [0, 2^b).
 *   Outputs:     nonneg = 1 iff in >= 0 (the top bit of the offset value).
 *   Bit bounds:  2 <= b <= 252.
 *   Cost:        b constraints.
 *
 * Soundness assumptions: none beyond the bit bounds. Never use Num2Bits(254)
 * plus a sign trick: 254 bits alias modulo p.
 */

template UnsignedRange(b) {
    assert(b >= 1 && b <= 252);
    signal input in;

    component bits = Num2Bits(b);
    bits.in <== in;
}

template SignedRange(b) {
    assert(b >= 2 && b <= 252);
    signal input in;
    signal output nonneg;

    component bits = Num2Bits(b);
    bits.in <== in + 2 ** (b - 1);
    nonneg <== bits.out[b - 1];
}
