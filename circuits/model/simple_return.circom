pragma circom 2.1.0;

include "bitify.circom";

// floor(num / den) for a signed num and a positive den (witness hint only).
function floor_div_signed(num, den) {
    if (num < 0) {
        return -((-num + den - 1) \ den);
    }
    return num \ den;
}

/*
 * SimpleReturn(priceBits, retFrac, retHiBits)
 *   Inputs:      p0 (previous price), p1 (new price), PRICE fixed point.
 *   Outputs:     eps = floor((p1 - p0) * 2^retFrac / p0), the simple return
 *                p1/p0 - 1 at 2^retFrac (calcm.risk.model_fx.simple_return);
 *                neg = 1 iff eps < 0 (the GJR leverage indicator).
 *   Proves:      (p1 - p0) 2^retFrac = eps * p0 + rem with 0 <= rem < p0
 *                (rem and p0 - 1 - rem in priceBits + 1 bits) and
 *                -2^retHiBits <= eps < 2^retHiBits (eps + 2^retHiBits in
 *                retHiBits + 1 bits, whose top bit is the sign).
 *   Assumes:     1 <= p0 < 2^priceBits (the committed previous state was range
 *                checked when it was made); p1 is range-checked by PricePack.
 *   Bit bounds:  priceBits + 1 + retHiBits + 1 < 252: eps * p0 + rem never wraps,
 *                so Euclid's uniqueness fixes eps and rem.
 *   Cost:        2 (priceBits + 1) + retHiBits + 1 + 1.
 */
template SimpleReturn(priceBits, retFrac, retHiBits) {
    signal input p0;
    signal input p1;
    signal output eps;
    signal output neg;
    signal rem;

    eps <-- floor_div_signed((p1 - p0) * 2 ** retFrac, p0);
    // Pins eps: rem is Euclid's remainder for it, and must be in [0, p0); eps in range.
    rem <== (p1 - p0) * 2 ** retFrac - eps * p0;
    component remLow = Num2Bits(priceBits + 1);
    remLow.in <== rem;
    component remHigh = Num2Bits(priceBits + 1);
    remHigh.in <== p0 - 1 - rem;
    component epsBits = Num2Bits(retHiBits + 1);
    epsBits.in <== eps + 2 ** retHiBits;
    neg <== 1 - epsBits.out[retHiBits];
}
