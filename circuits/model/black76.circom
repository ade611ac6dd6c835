pragma circom 2.1.0;

include "shift.circom";
include "normal_cdf.circom";

/*
 * Black76Call()
 *   Inputs:      lnF = ln_fx(F), F (price, PRICE), K (strike, PRICE), lnK = ln_fx(K),
 *                invV (1/v at 2^32), v (iv sqrt(T) at 2^32), w (1/(1+shock) at
 *                2^24), u (1 + shock at 2^16). invV, v, lnK, K are parameter-hash
 *                bound (calcm.risk.modelfx.option_terms); w, u are 2^24, 2^16 (base)
 *                or proven by ScenarioVol (w = round(2^40 / u)).
 *   Outputs:     d1, d2 (2^20), n1 = N(d1), n2 = N(d2) (2^32) and the call value
 *                value = rdiv(F n1 - K n2, 32) (PRICE) (calcm.risk.model_fx.black76_fx):
 *                d1,2 = rdiv((lnF - lnK) invV w +/- v u 2^39, 68), i.e.
 *                ln(F/K) / (v (1+shock)) +/- v (1+shock) / 2.
 *   Proves:      each rounding with its remainder and quotient range-checked
 *                (|d| < 2^16, |value| < 2^49); N by NormalCdf on d's own bits.
 *   Assumes:     |lnF - lnK| < 2^38, invV < 2^38, w <= 2^26, v < 2^36, u < 2^21
 *                (parameter ranges): the numerators stay below 2^110.
 *   Cost:        3 + 2 * 105 + 2 * ~206 + 2 + 82 = ~709 (2 fewer when w, u are constants).
 */
template Black76Call() {
    var DB = 37;         // d in [-2^36, 2^36) at 2^20
    signal input lnF;
    signal input F;
    signal input K;
    signal input lnK;
    signal input invV;
    signal input v;
    signal input w;
    signal input u;
    signal output d1;
    signal output d2;
    signal output n1;
    signal output n2;
    signal output value;

    signal xa <== (lnF - lnK) * invV;
    signal a <== xa * w;
    signal b <== v * u;
    component r1 = RoundShift(68, DB);
    r1.in <== a + b * 2 ** 39;
    component r2 = RoundShift(68, DB);
    r2.in <== a - b * 2 ** 39;
    d1 <== r1.out;
    d2 <== r2.out;

    component c1 = NormalCdf(DB);
    c1.bits <== r1.bits;
    component c2 = NormalCdf(DB);
    c2.bits <== r2.bits;
    n1 <== c1.out;
    n2 <== c2.out;

    signal fn <== F * n1;
    signal kn <== K * n2;
    component rv = RoundShift(32, 50);
    rv.in <== fn - kn;
    value <== rv.out;
}
