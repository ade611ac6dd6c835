pragma circom 2.1.0;

include "range.circom";
include "constants.circom";

/*
 * TailSum(S, k, B): the sum of the k largest of S losses, with the published tie
 * rule (ties go to the lower scenario index), so every private wire is pinned.
 *
 *   Inputs:      loss[S] (signed integers, |loss| < 2^99: see Bit bounds);
 *                prover hints: inTail[S] (b, indicator bits), tailStep[S]
 *                (e[s] = 1 for s <= sT, 0 after; sT = the scenario of the k-th
 *                loss in the order (loss descending, index ascending)) and
 *                threshold t = loss[sT].
 *   Outputs:     sum = sum_{s : b[s] = 1} loss[s].
 *   Proves:      b[s] boolean, sum_s b[s] = k;
 *                delta[s] = e[s] - e[s+1] boolean (e[S] = 0) and e[0] = 1, so delta
 *                is one-hot (at sT) and e is the step [s <= sT];
 *                d[s] = (2 b[s] - 1) (loss[s] - t + e[s]) - b[s] in [0, 2^B), i.e.
 *                  b=1, s <= sT: loss >= t     b=1, s > sT: loss > t
 *                  b=0, s <= sT: loss < t      b=0, s > sT: loss <= t;
 *                pick[s] = (delta[s] + LAMBDA b[s]) loss[s] and
 *                sum_s pick[s] = t + LAMBDA * sum, with sum in a signed 64 + bits(k)
 *                window: this pins t = loss[sT] and sum = sum_s b[s] loss[s].
 *                So b selects an upper set of size k of the total order
 *                (loss desc, index asc) that contains sT as its last element:
 *                b, e, t, sum are unique (no free wire, issue 13 A1).
 *   Bit bounds:  |loss| < 2^99 (qty < 2^40, values < 2^48, <= 2^10 terms plus the
 *                perp charge: ScenarioLosses); d's range gives |loss - t| < 2^B + 2, so
 *                |t| < 2^100. LAMBDA = 2^101 > |loss[sT] - t|; |sum_s pick| < 2^100 +
 *                2^101 S 2^99 and |t + LAMBDA sum| < 2^100 + 2^(165 + bits(k)) are
 *                below p/2 for S, k <= 2^10, so the packed equation holds over the
 *                integers and splits uniquely. Completeness: B = MONEY_BITS + 1 = 64
 *                covers |loss - t| + 1 for money losses; |sum| < k 2^63.
 *   Cost:        B + 4 per scenario (b boolean, delta boolean, d, B-bit range,
 *                pick) plus 64 + bits(k) + 2 per account.
 */
template TailSum(S, k, B) {
    assert(k >= 1 && k <= S && S <= 1024);
    var LAMBDA = 2 ** 101;
    var kBits = 0;
    while (2 ** kBits <= k) {
        kBits++;
    }
    signal input loss[S];
    signal input inTail[S];
    signal input tailStep[S];
    signal input threshold;
    signal output sum;

    signal d[S];
    signal pick[S];
    component rc[S];
    var count = 0;
    var packed = 0;
    for (var s = 0; s < S; s++) {
        inTail[s] * (inTail[s] - 1) === 0;
        var delta = tailStep[s];
        if (s + 1 < S) {
            delta = tailStep[s] - tailStep[s + 1];
        }
        delta * (delta - 1) === 0;
        d[s] <== (2 * inTail[s] - 1) * (loss[s] - threshold + tailStep[s]) - inTail[s];
        rc[s] = UnsignedRange(B);
        rc[s].in <== d[s];
        pick[s] <== (delta + LAMBDA * inTail[s]) * loss[s];
        count += inTail[s];
        packed += pick[s];
    }
    count === k;
    tailStep[0] === 1;

    // Hint: field division is exact for an honest witness; pinned by the two lines below.
    sum <-- (packed - threshold) / LAMBDA;
    packed === threshold + LAMBDA * sum;
    component sumRange = SignedRange(MONEY_BITS() + 1 + kBits);
    sumRange.in <== sum;
}
