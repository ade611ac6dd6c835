pragma circom 2.1.0;

include "shift.circom";
include "../constants.circom";

/*
 * GarchStep(varBits)
 *   Inputs:      eps (simple return at 2^40), neg (1 iff eps < 0, boolean:
 *                from SimpleReturn's bit decomposition), sigma2 (variance at
 *                2^48), omega (2^48), alpha, gamma, beta (2^32).
 *   Outputs:     sigma2Next = rdiv(omega 2^64 + alpha eps^2 + gamma eps^2 neg
 *                             + beta sigma2 2^32, 64), the GJR-GARCH(1,1)
 *                recursion sigma2' = omega + alpha e^2 + gamma e^2 1[e<0] + beta sigma2
 *                at 2^48 (calcm.risk.model_fx.garch_step).
 *   Proves:      the recursion with one rounding, and 0 <= sigma2Next < 2^varBits.
 *   Assumes:     parameters as bound by the parameter hash (ModelParamsFx ranges:
 *                |alpha|, |gamma|, |beta| <= 2^32, omega < 2^48), |eps| < 2^44 and
 *                sigma2 < 2^58 (previous proof): the numerator is below 2^126.
 *   Cost:        5 + 64 + varBits.
 */
template GarchStep(varBits) {
    signal input eps;
    signal input neg;
    signal input sigma2;
    signal input omega;
    signal input alpha;
    signal input gamma;
    signal input beta;
    signal output sigma2Next;

    signal e2 <== eps * eps;
    signal negE2 <== neg * e2;
    signal a <== alpha * e2;
    signal g <== gamma * negE2;
    signal b <== beta * sigma2;
    component shift = RoundShiftUnsigned(GARCH_SHIFT(), varBits);
    shift.in <== omega * 2 ** GARCH_SHIFT() + a + g + b * 2 ** 32;
    sigma2Next <== shift.out;
}
