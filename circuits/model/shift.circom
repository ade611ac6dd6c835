pragma circom 2.1.0;

include "bitify.circom";

/*
 * Rounding shifts: out = floor((in + 2^(k-1)) / 2^k), "round half up", the
 * fixed-point rescale of calcm.risk.fixed_transcendental.rdiv.
 *
 * RoundShift(k, qBits)
 *   Inputs:      in, a signed integer (negative x is the field element p - |x|).
 *   Outputs:     out = rdiv(in, k), with -2^(qBits-1) <= out < 2^(qBits-1);
 *                bits[qBits] = the binary digits of out + 2^(qBits-1) (offset
 *                binary: bits[qBits-1] = 1 iff out >= 0), for callers that need
 *                the sign, the integer part or the fraction of out;
 *                nonneg = bits[qBits-1].
 *   Proves:      in + 2^(k-1) + 2^(k+qBits-1) = sum_j b_j 2^j with k + qBits
 *                boolean b_j: the low k bits are the remainder (0 <= r < 2^k)
 *                and the high qBits the offset quotient, so quotient and
 *                remainder are range-checked together by ONE decomposition.
 *   Bit bounds:  k >= 1, k + qBits <= 252 (the decomposition is unique below p).
 *   Fails when:  the true quotient is outside its range (no witness exists).
 *   Cost:        k + qBits constraints.
 *
 * RoundShiftUnsigned(k, qBits)
 *   As above with 0 <= out < 2^qBits (in + 2^(k-1) decomposed in k + qBits bits).
 */
template RoundShift(k, qBits) {
    assert(k >= 1 && qBits >= 2 && k + qBits <= 252);
    signal input in;
    signal output out;
    signal output bits[qBits];
    signal output nonneg;

    component n2b = Num2Bits(k + qBits);
    n2b.in <== in + 2 ** (k - 1) + 2 ** (k + qBits - 1);
    var q = 0;
    for (var j = 0; j < qBits; j++) {
        bits[j] <== n2b.out[k + j];
        q += n2b.out[k + j] * 2 ** j;
    }
    out <== q - 2 ** (qBits - 1);
    nonneg <== bits[qBits - 1];
}

template RoundShiftUnsigned(k, qBits) {
    assert(k >= 1 && qBits >= 1 && k + qBits <= 252);
    signal input in;
    signal output out;

    component n2b = Num2Bits(k + qBits);
    n2b.in <== in + 2 ** (k - 1);
    var q = 0;
    for (var j = 0; j < qBits; j++) {
        q += n2b.out[k + j] * 2 ** j;
    }
    out <== q;
}
