pragma circom 2.1.0;

include "compare.circom";
include "constants.circom";

/*
 * HealthTier()
 *   Inputs:      equity (signed money), mm and im (money, 0 <= mm <= im < 2^63),
 *                warnBufferBps (bps, model data).
 *   Outputs:     tier = 3 if equity < mm (liquidatable),
 *                       2 if equity < im (no new risk),
 *                       1 if equity * BPS < im * (BPS + warnBufferBps) (warning),
 *                       0 otherwise (healthy)       (calcm.risk.margin.Tier).
 *   Proves:      three range-checked signed comparisons; tier is their sum,
 *                because the conditions are nested: mm <= im (im is mm rounded
 *                up with a buffer >= 0) and im * BPS <= im * (BPS + warn) (im >= 0,
 *                warn >= 0), so equity < mm => equity < im => the warning test.
 *   Bit bounds:  equity - mm and equity - im: |.| < 2^64 when |equity| < 2^63
 *                (MONEY); equity * BPS - im * (BPS + warn): |.| < 2^80.
 *                An equity outside MONEY fails the range checks (the Python
 *                reference rejects it before proving).
 *   Cost:        65 + 65 + 81 + 1 constraints.
 */
template HealthTier() {
    var BPS = BPS();
    signal input equity;
    signal input mm;
    signal input im;
    signal input warnBufferBps;
    signal output tier;

    component belowMm = SignedLessThan(MONEY_BITS() + 1);
    belowMm.a <== equity;
    belowMm.c <== mm;

    component belowIm = SignedLessThan(MONEY_BITS() + 1);
    belowIm.a <== equity;
    belowIm.c <== im;

    signal warnLine;
    warnLine <== im * (BPS + warnBufferBps);
    component belowWarn = SignedLessThan(MONEY_BITS() + RATE_BITS() + 1);
    belowWarn.a <== equity * BPS;
    belowWarn.c <== warnLine;

    tier <== belowMm.lt + belowIm.lt + belowWarn.lt;
}
