pragma circom 2.1.0;

include "division.circom";

/*
 * ExpectedShortfall(k, B)
 *   Inputs:      tailSum: the sum of the k largest scenario losses (money).
 *   Outputs:     esRaw = ceil(tailSum / k) (rounds up: a requirement), and
 *                es = max(esRaw, 0).
 *   Proves:      SignedCeilDiv by the constant k (remainder in [0, k),
 *                -2^(B-1) <= esRaw < 2^(B-1)); es = nonneg * esRaw.
 *   Bit bounds:  B = MONEY_BITS + 1 = 64 (MONEY is (-2^63, 2^63)).
 *   Cost:        B + 2 * bits(k) + 1.
 */
template ExpectedShortfall(k, B) {
    assert(k >= 1);
    var kBits = 0;
    while (2 ** kBits <= k) {
        kBits++;
    }
    signal input tailSum;
    signal output esRaw;
    signal output es;

    component div = SignedCeilDiv(B, kBits);
    div.num <== tailSum;
    div.den <== k;
    esRaw <== div.quot;
    es <== div.nonneg * esRaw;
}
