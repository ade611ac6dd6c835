pragma circom 2.1.0;

include "shift.circom";
include "ln.circom";
include "black76.circom";
include "asset_step.circom";
include "vol_shock.circom";

/*
 * OptionBase()
 *   Inputs:      price (the underlying's F, PRICE), isPut (0/1, a linear
 *                combination of selector bits and compile-time kinds), terms[8]
 *                = [strike, expiry, iv, lnK, v, invV, vAfter, invVAfter] (ht-bound).
 *   Outputs:     value (the call value V_0), mark = V_0 - isPut (F - K),
 *                expo = rdiv(N(d1) F, 32) - isPut F (calcm.risk.modelfx.options),
 *                lnF = ln_fx(F) (for the series' moneyness, PartVols).
 *   Cost:        LnInt + Black76Call + 81 + 2 = ~1020.
 */
template OptionBase() {
    signal input price;
    signal input isPut;
    signal input terms[8];
    signal output value;
    signal output mark;
    signal output expo;
    signal output lnF;

    component ln = LnInt();
    ln.x <== price;
    lnF <== ln.out;
    component b = Black76Call();
    b.lnF <== ln.out;
    b.F <== price;
    b.K <== terms[0];
    b.lnK <== terms[3];
    b.invV <== terms[5];
    b.v <== terms[4];
    b.w <== 2 ** 24;
    b.u <== 2 ** 16;
    value <== b.value;
    signal parity <== isPut * (price - terms[0]);
    mark <== b.value - parity;
    component delta = RoundShiftUnsigned(32, 49);
    delta.in <== b.n1 * price;
    signal putF <== isPut * price;
    expo <== delta.out - putF;
}

/*
 * OptionScenario()
 *   Inputs:      z (2^16), move, floor (AssetMove of the underlying), price,
 *                base (V_0), isPut, terms[8], u (the vol multiplier 1 + v + kappa m
 *                at 2^16) and w = round(2^40 / u) (both from ScenarioVol).
 *   Outputs:     lin (ScenarioMove), pnl = V_s - V_0 - isPut lin with V_s the
 *                call at F_s = price + lin, v' = vAfter, iv u / 2^16.
 *   Cost:        71 + LnInt + Black76Call + 1 = ~1010.
 */
template OptionScenario() {
    signal input z;
    signal input move;
    signal input floor;
    signal input price;
    signal input base;
    signal input isPut;
    signal input terms[8];
    signal input u;
    signal input w;
    signal output lin;
    signal output pnl;

    component mv = ScenarioMove();
    mv.z <== z;
    mv.move <== move;
    mv.floor <== floor;
    lin <== mv.lin;
    component ln = LnInt();
    ln.x <== price + lin;
    component b = Black76Call();
    b.lnF <== ln.out;
    b.F <== price + lin;
    b.K <== terms[0];
    b.lnK <== terms[3];
    b.invV <== terms[7];
    b.v <== terms[6];
    b.w <== w;
    b.u <== u;
    signal putLin <== isPut * lin;
    pnl <== b.value - base - putLin;
}
