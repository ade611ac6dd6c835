pragma circom 2.1.0;

include "bitify.circom";
include "comparators.circom";
include "shift.circom";
include "../constants.circom";

/*
 * Scenario implied vols: per-(scenario, underlying) vol shock v and skew shock kappa
 * applied at a series' clipped log-moneyness (calcm.risk.modelfx.options, docs/PROVING.md
 * §6): iv_s = iv u / 2^16 with u = 2^16 + v + rdiv(kappa m, 32).
 *
 * Moneyness()
 *   Inputs:      lnK (ln_fx(strike), ht-bound), lnF (ln_fx(F), LnInt), both at 2^32.
 *   Outputs:     m = clip(lnK - lnF, -CAP, CAP), CAP = MONEYNESS_CAP() = 2^31 (0.5).
 *   Proves:      with x = lnK - lnF + 2^40, lo = [x < 2^40 - CAP], hi = [2^40 + CAP < x]
 *                (LessThan(41)); m = (1 - lo - hi)(lnK - lnF) + (hi - lo) CAP.
 *   Assumes:     0 <= lnK, lnF < 2^38 (prices and strikes below 2^50), so x is in
 *                [0, 2^41) and LessThan is sound; lo and hi are never both 1.
 *   Cost:        2 * 42 + 1 = 85.
 */
template Moneyness() {
    var CAP = MONEYNESS_CAP();
    var OFF = 2 ** 40;
    signal input lnK;
    signal input lnF;
    signal output m;

    component lo = LessThan(41);
    lo.in[0] <== lnK - lnF + OFF;
    lo.in[1] <== OFF - CAP;
    component hi = LessThan(41);
    hi.in[0] <== OFF + CAP;
    hi.in[1] <== lnK - lnF + OFF;
    signal mid <== (1 - lo.out - hi.out) * (lnK - lnF);
    m <== mid + (hi.out - lo.out) * CAP;
}

/*
 * ScenarioVol()
 *   Inputs:      shock (v at 2^16, SHOCK range), skew (kappa at 2^16, |kappa| <= 2^16),
 *                both hs-bound; m (Moneyness, |m| <= 2^31).
 *   Outputs:     u = 2^16 + shock + rdiv(skew m, 32) (the vol multiplier at 2^16),
 *                w = round(2^40 / u) = (2^41 + u) \ (2 u) (1/u at 2^24).
 *   Proves:      rdiv by RoundShift(32, 17) (|skew m| <= 2^47, so |rdiv| <= 2^15);
 *                u in [2^14, 2^18): u in 18 bits and its top four bits, read as
 *                t in [0, 16), have t - 1 in 4 bits. The hint w is pinned directly
 *                below: w in 27 bits and r = 2^41 + u - 2 u w with r and 2 u - 1 - r
 *                in 19 bits, i.e. 0 <= r < 2 u: the unique integer w of the twin
 *                (2 u w < 2^46: no wrap-around, so r is the integer remainder).
 *   Fails when:  u is outside [2^14, 2^18) (the twin raises FixedPointRangeError).
 *   Cost:        49 + 18 + 4 + 27 + 1 + 2 * 19 = 137.
 */
template ScenarioVol() {
    signal input shock;
    signal input skew;
    signal input m;
    signal output u;
    signal output w;

    component km = RoundShift(32, 17);
    km.in <== skew * m;
    u <== 2 ** 16 + shock + km.out;
    component ub = Num2Bits(18);
    ub.in <== u;
    component ut = Num2Bits(4);
    ut.in <== ub.out[14] + 2 * ub.out[15] + 4 * ub.out[16] + 8 * ub.out[17] - 1;

    w <-- (2 ** 41 + u) \ (2 * u);
    component wb = Num2Bits(27);
    wb.in <== w;
    signal r <== 2 ** 41 + u - 2 * u * w;
    component rlo = Num2Bits(19);
    rlo.in <== r;
    component rhi = Num2Bits(19);
    rhi.in <== 2 * u - 1 - r;
}

/*
 * PartVols(L)
 *   Inputs:      shc[2 L] (the opened hs[u][c] preimage of the part's underlying u:
 *                element 2 i is v of chunk scenario i, the next its kappa), lnK, lnF
 *                (the series', at the base price).
 *   Outputs:     u[L], w[L]: ScenarioVol of each chunk scenario.
 *   Proves:      m once (Moneyness), shared by the chunk's scenarios.
 *   Cost:        85 + 137 L.
 */
template PartVols(L) {
    signal input shc[2 * L];
    signal input lnK;
    signal input lnF;
    signal output u[L];
    signal output w[L];

    component mon = Moneyness();
    mon.lnK <== lnK;
    mon.lnF <== lnF;
    component sv[L];
    for (var i = 0; i < L; i++) {
        sv[i] = ScenarioVol();
        sv[i].shock <== shc[2 * i];
        sv[i].skew <== shc[2 * i + 1];
        sv[i].m <== mon.m;
        u[i] <== sv[i].u;
        w[i] <== sv[i].w;
    }
}
