pragma circom 2.1.0;

include "bitify.circom";

// floor(sqrt(x)) by Newton's iteration on integers (witness hint only).
function isqrt_hint(x) {
    if (x == 0) {
        return 0;
    }
    var s = x;
    var t = (s + 1) \ 2;
    while (t < s) {
        s = t;
        t = (s + x \ s) \ 2;
    }
    return s;
}

/*
 * ISqrt(sBits)
 *   Inputs:      x, with 0 <= x < 2^(2 sBits) (the caller's range).
 *   Outputs:     s = floor(sqrt(x)).
 *   Proves:      s^2 <= x < (s + 1)^2, as rem = x - s^2 in [0, 2s]:
 *                rem and 2s - rem in sBits + 1 bits, and s in sBits bits.
 *                The square root is never trusted from the witness.
 *   Bit bounds:  2 sBits + 2 < 252 (s^2 + rem never wraps).
 *   Cost:        3 sBits + 3.
 */
template ISqrt(sBits) {
    signal input x;
    signal output s;
    signal sq;

    s <-- isqrt_hint(x);
    // Pins s: 0 <= x - s^2 <= 2s, i.e. s^2 <= x < (s+1)^2, with s in range.
    sq <== s * s;
    component sRange = Num2Bits(sBits);
    sRange.in <== s;
    component low = Num2Bits(sBits + 1);
    low.in <== x - sq;
    component high = Num2Bits(sBits + 1);
    high.in <== 2 * s - (x - sq);
}
