pragma circom 2.1.0;

include "range.circom";

/*
 * SignedLessThan(b)
 *   Inputs:      a, c: signed integers (field elements read as in SignedRange).
 *   Outputs:     lt = 1 iff a < c.
 *   Proves:      lt = [a - c < 0], by the range check SignedRange(b + 1) on a - c.
 *   Bit bounds:  b <= 251; the caller guarantees |a - c| < 2^b, which holds when
 *                both fit in b signed bits, or a fits in b signed bits and
 *                0 <= c < 2^(b-1). An honest difference outside the bound makes
 *                the witness fail (completeness), never a wrong lt (soundness):
 *                a difference below p/2 in magnitude has one offset encoding.
 *   Cost:        b + 1 constraints.
 *
 * Unlike circomlib's LessThan(n), the range of the difference is checked here,
 * so no caller can forget it (zk-kit's safe comparators make the same point).
 */
template SignedLessThan(b) {
    assert(b >= 1 && b <= 251);
    signal input a;
    signal input c;
    signal output lt;

    component diff = SignedRange(b + 1);
    diff.in <== a - c;
    lt <== 1 - diff.nonneg;
}
