pragma circom 2.1.0;

include "range.circom";

/*
 * TailSum(S, k, B): the sum of the k largest of S losses, without sorting.
 *   Inputs:      loss[S] (signed integers); prover hints: inTail[S] (indicator
 *                bits) and threshold t (the k-th largest loss).
 *   Outputs:     sum = sum_{s : inTail[s] = 1} loss[s].
 *   Proves:      each inTail[s] is boolean; exactly k are set;
 *                d[s] = (2*inTail[s] - 1) * (loss[s] - t) lies in [0, 2^B), i.e.
 *                every selected loss is >= t and every unselected one <= t (one
 *                range check per scenario). Hence every selected loss >= every
 *                unselected one, and the sum is the top-k sum whatever the
 *                tie-break (ties at t may be selected either way).
 *   Bit bounds:  B <= 252. Completeness needs |loss[s] - t| < 2^B for honest
 *                inputs: B = MONEY_BITS + 1 = 64 covers every pair of money
 *                values. Soundness needs |loss| < p/4: true (|loss| < 2^98).
 *                t is not range-checked: if 0 < k < S, d of one selected and one
 *                unselected scenario pin t to within 2^B of a loss; if k = S, t
 *                is unconstrained and irrelevant (every loss is selected).
 *   Cost:        B + 2 constraints per scenario (boolean, d, B-bit range); the sum
 *                is linear: inTail*(loss - t) = (d + loss - t) / 2, so
 *                sum = sum_s (d[s] + loss[s] - t) / 2 + k * t needs no product.
 */
template TailSum(S, k, B) {
    assert(k >= 1 && k <= S);
    signal input loss[S];
    signal input inTail[S];
    signal input threshold;
    signal output sum;

    signal d[S];
    component rc[S];
    var count = 0;
    var twiceExcess = 0;   // sum_s 2 * inTail[s] * (loss[s] - t), linear in d
    for (var s = 0; s < S; s++) {
        inTail[s] * (inTail[s] - 1) === 0;
        d[s] <== (2 * inTail[s] - 1) * (loss[s] - threshold);
        rc[s] = UnsignedRange(B);
        rc[s].in <== d[s];
        count += inTail[s];
        twiceExcess += d[s] + loss[s] - threshold;
    }
    count === k;
    sum <== twiceExcess / 2 + k * threshold;
}
