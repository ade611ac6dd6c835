pragma circom 2.1.0;

include "bitify.circom";
include "comparators.circom";
include "tables.circom";
include "shift.circom";
include "simple_return.circom";
include "garch.circom";
include "isqrt.circom";
include "../constants.circom";

/*
 * ReturnFloor(priceBits)
 *   Inputs:      p1 (price, PRICE), minRetBps (the scenario return floor in bps,
 *                -9999 <= minRetBps <= 0; parameter-hash bound).
 *   Outputs:     floor = -floor(p1 * (-minRetBps) / 10^4): the lowest scenario
 *                price move, p1 * MIN_RETURN rounded toward zero (PRICE).
 *   Proves:      p1 (-minRetBps) = q 10^4 + r, 0 <= r < 10^4 (r and 9999 - r
 *                in 14 bits), 0 <= q < 2^priceBits.
 *   Cost:        1 + 28 + priceBits.
 */
template ReturnFloor(priceBits) {
    signal input p1;
    signal input minRetBps;
    signal output floor;
    signal q;
    signal r;

    signal num <== p1 * (0 - minRetBps);
    q <-- num \ BPS();
    // Pins q: r is Euclid's remainder for it, and must be in [0, 10^4); q in range.
    r <== num - q * BPS();
    component rLow = Num2Bits(BPS_BITS());
    rLow.in <== r;
    component rHigh = Num2Bits(BPS_BITS());
    rHigh.in <== BPS() - 1 - r;
    component qRange = Num2Bits(priceBits);
    qRange.in <== q;
    floor <== 0 - q;
}

/*
 * HorizonVariance()
 *   Inputs:      sigma2 (next-day variance, 2^48, < 2^58: range-checked by
 *                GarchStep or committed in a range-checked state); A (2^32),
 *                B (2^48), F (2^48): the asset's MPOR forecast coefficients and
 *                APC floor, the head [A_u, B_u, F_u] of its z chunk (bound by
 *                the parameter hash; docs/PROVING.md §4).
 *   Outputs:     vf = max(rdiv(A sigma2, 32) + B, F) (2^48): the MPOR variance
 *                sum_{j<=h} E[sigma2_{T+j}], floored at h var_floor.
 *   Proves:      calcm.risk.modelfx.step.horizon_variance, bit for bit:
 *                q = rdiv(A sigma2, HORIZON_SHIFT) with 0 <= q < 2^HVAR_BITS
 *                (RoundShiftUnsigned), v = q + B; lt = [v < F] (LessThan);
 *                vf = v + lt (F - v) with 0 <= vf < 2^HVAR_BITS.
 *   Bit bounds:  A sigma2 < 2^98 (never wraps). LessThan's inputs need no
 *                range of their own: v and F are nonnegative integers below
 *                2^63 (q checked, B, F published), so its one decomposition of
 *                v + 2^62 - F proves -2^62 <= v - F < 2^62 and lt exactly, and
 *                the range on vf = max(v, F) then bounds both. Any v >= 2^62
 *                leaves no witness, as modelfx raises.
 *   Assumes:     A < 2^40, B, F < 2^62, as ModelParamsFx derives and
 *                validates them before governance publishes the hash (as for
 *                every hashed parameter); the circuit does not re-derive them.
 *   Cost:        1 + (32 + 62) + 63 + 1 + 62 = 221.
 */
template HorizonVariance() {
    var QBITS = HVAR_BITS();
    signal input sigma2;
    signal input A;
    signal input B;
    signal input F;
    signal output vf;

    component q = RoundShiftUnsigned(HORIZON_SHIFT(), QBITS);
    q.in <== A * sigma2;
    signal v <== q.out + B;
    component lt = LessThan(QBITS);
    lt.in[0] <== v;
    lt.in[1] <== F;
    vf <== v + lt.out * (F - v);
    component range = Num2Bits(QBITS);
    range.in <== vf;
}

/*
 * AssetMove()
 *   Inputs:      sigma2 (the variance of the next day's return, 2^48, < 2^58:
 *                range-checked by GarchStep or committed in a range-checked
 *                state), price (PRICE, < 2^48: PricePack), A, B, F (the
 *                asset's z-chunk head: HorizonVariance) and minRetBps
 *                (parameter-hash bound).
 *   Outputs:     vf (HorizonVariance, 2^48), sigma = isqrt(vf 2^16) (sigma_h,
 *                2^32, < 2^39), move = rdiv(price sigma, 28) (PRICE 2^4: the
 *                price move per unit of z), floor (ReturnFloor).
 *   Proves:      calcm.risk.modelfx.step.asset_move, bit for bit; vf < 2^62,
 *                so vf 2^16 < 2^78 = 2^(2 SIGMA_H_BITS) as ISqrt needs;
 *                move < 2^MOVE_BITS (= 2^60).
 *   Cost:        221 + 120 + 88 + 77 = ~506.
 */
template AssetMove() {
    var PRICE_BITS = PRICE_BITS();
    signal input sigma2;
    signal input price;
    signal input A;
    signal input B;
    signal input F;
    signal input minRetBps;
    signal output vf;
    signal output sigma;
    signal output move;
    signal output floor;

    component hv = HorizonVariance();
    hv.sigma2 <== sigma2;
    hv.A <== A;
    hv.B <== B;
    hv.F <== F;
    vf <== hv.vf;

    component root = ISqrt(SIGMA_H_BITS());
    root.x <== vf * 2 ** SQRT_PRESHIFT();
    sigma <== root.s;

    component mv = RoundShiftUnsigned(MOVE_SHIFT(), MOVE_BITS());
    mv.in <== price * sigma;
    move <== mv.out;

    component fl = ReturnFloor(PRICE_BITS);
    fl.p1 <== price;
    fl.minRetBps <== minRetBps;
    floor <== fl.floor;
}

/*
 * AssetStep()
 *   Inputs:      p0, sigma2 (the previous state of one asset), p1 (the next
 *                close), its GARCH parameters omega, alpha, gamma, beta,
 *                A, B, F (its z-chunk head: HorizonVariance) and minRetBps.
 *   Outputs:     eps, sigma2Next (2^48, the new state), and AssetMove's vf,
 *                sigma, move, floor at (sigma2Next, p1).
 *   Proves:      calcm.risk.modelfx.step.asset_step, bit for bit, with every
 *                intermediate range-checked (returns below +1500%, variance
 *                below 2^58, move below 2^60).
 *   Assumes:     see SimpleReturn, GarchStep (previous state, hashed parameters).
 *   Cost:        about 5 * 48 + 45 + 5 + 122 + ~506 = ~910.
 */
template AssetStep() {
    var PRICE_BITS = PRICE_BITS();
    signal input p0;
    signal input sigma2;
    signal input p1;
    signal input omega;
    signal input alpha;
    signal input gamma;
    signal input beta;
    signal input A;
    signal input B;
    signal input F;
    signal input minRetBps;
    signal output eps;
    signal output sigma2Next;
    signal output vf;
    signal output sigma;
    signal output move;
    signal output floor;

    component ret = SimpleReturn(PRICE_BITS, RET_FRAC(), RET_HI_BITS());
    ret.p0 <== p0;
    ret.p1 <== p1;
    eps <== ret.eps;

    component garch = GarchStep(VAR_BITS());
    garch.eps <== ret.eps;
    garch.neg <== ret.neg;
    garch.sigma2 <== sigma2;
    garch.omega <== omega;
    garch.alpha <== alpha;
    garch.gamma <== gamma;
    garch.beta <== beta;
    sigma2Next <== garch.sigma2Next;

    component am = AssetMove();
    am.sigma2 <== sigma2Next;
    am.price <== p1;
    am.A <== A;
    am.B <== B;
    am.F <== F;
    am.minRetBps <== minRetBps;
    vf <== am.vf;
    sigma <== am.sigma;
    move <== am.move;
    floor <== am.floor;
}

/*
 * ScenarioMove()
 *   Inputs:      z (standardised shock at 2^16, parameter-hash bound, |z| < 2^22),
 *                move (AssetStep, PRICE 2^4), floor (AssetStep, <= 0).
 *   Outputs:     lin = max(rdiv(z * move, 20), floor): the price move of one unit
 *                of the asset in this scenario, p1 * max(z sqrt(vf), MIN_RETURN)
 *                (PRICE); the P&L of spot and perps, exactly.
 *   Proves:      off = rdiv(z move - floor 2^20, 20) = rdiv(z move, 20) - floor
 *                in [-2^48, 2^48) by one decomposition whose top bit is
 *                [off >= 0]; lin = floor + off [off >= 0], so -2^48 < lin < 2^48.
 *   Cost:        1 + 20 + 49 + 1 = 71.
 */
template ScenarioMove() {
    signal input z;
    signal input move;
    signal input floor;
    signal output lin;

    signal zm <== z * move;
    component off = RoundShift(LIN_SHIFT(), PRICE_BITS() + 1);
    off.in <== zm - floor * 2 ** LIN_SHIFT();
    signal kept <== off.out * off.nonneg;
    lin <== floor + kept;
}
