pragma circom 2.1.0;

include "range.circom";

/*
 * Integer division with remainder, quotient and remainder both range-checked.
 * A division is never an unconstrained `<--`: every hint below is pinned by
 * `num === quot * den (+/-) rem`, 0 <= rem < den and a range on quot.
 *
 * RemainderBelow(dBits)
 *   Proves:      0 <= rem < den.
 *   Assumes:     1 <= den < 2^dBits (den is public model data or a constant).
 *   Cost:        2 * dBits.
 *
 * FloorDiv(qBits, dBits)      quot = floor(num / den), 0 <= quot < 2^qBits
 * CeilDiv(qBits, dBits)       quot = ceil(num / den),  0 <= quot < 2^qBits
 * SignedCeilDiv(qBits, dBits) quot = ceil(num / den), -2^(qBits-1) <= quot < 2^(qBits-1),
 *                             also outputs nonneg = (quot >= 0)
 *   Bit bounds:  qBits + dBits <= 251, so |quot * den| + rem < p/2: the field
 *                equation holds over the integers, and Euclid's uniqueness
 *                fixes quot and rem.
 *   Assumes:     num is an integer with |num| < p/2 (true of every money value
 *                here) and den as in RemainderBelow. A constant den makes
 *                quot * den linear (1 quadratic constraint fewer).
 *   Cost:        qBits + 2 * dBits (+1 when den is a signal).
 *   Rounding:    exact on negative numerators (floor/ceil, never truncation),
 *                as calcm.fixedpoint.floor_div / ceil_div.
 */

template RemainderBelow(dBits) {
    signal input rem;
    signal input den;

    component low = UnsignedRange(dBits);
    low.in <== rem;
    component high = UnsignedRange(dBits);
    high.in <== den - 1 - rem;
}

template FloorDiv(qBits, dBits) {
    assert(qBits + dBits <= 251);
    signal input num;
    signal input den;
    signal output quot;
    signal rem;

    // Hints (FloorDiv is only used on num >= 0, which q*den + rem >= 0 also forces);
    // pinned by the three checks below.
    quot <-- num \ den;
    rem <-- num % den;
    num === quot * den + rem;
    component q = UnsignedRange(qBits);
    q.in <== quot;
    component r = RemainderBelow(dBits);
    r.rem <== rem;
    r.den <== den;
}

// The ceiling quotient of a signed numerator, as a witness hint.
function ceil_div_hint(num, den) {
    if (num < 0) {
        return -((-num) \ den);
    }
    return (num + den - 1) \ den;
}

template CeilDiv(qBits, dBits) {
    assert(qBits + dBits <= 251);
    signal input num;
    signal input den;
    signal output quot;
    signal rem;

    quot <-- ceil_div_hint(num, den);
    rem <-- quot * den - num;
    // Pins both hints: num = quot*den - rem, 0 <= rem < den, quot in range.
    num === quot * den - rem;
    component q = UnsignedRange(qBits);
    q.in <== quot;
    component r = RemainderBelow(dBits);
    r.rem <== rem;
    r.den <== den;
}

template SignedCeilDiv(qBits, dBits) {
    assert(qBits + dBits <= 251);
    signal input num;
    signal input den;
    signal output quot;
    signal output nonneg;
    signal rem;

    quot <-- ceil_div_hint(num, den);
    rem <-- quot * den - num;
    // Pins both hints: num = quot*den - rem, 0 <= rem < den, quot in signed range.
    num === quot * den - rem;
    component q = SignedRange(qBits);
    q.in <== quot;
    nonneg <== q.nonneg;
    component r = RemainderBelow(dBits);
    r.rem <== rem;
    r.den <== den;
}
