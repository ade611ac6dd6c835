pragma circom 2.1.0;

include "division.circom";
include "constants.circom";

/*
 * InitialMargin()
 *   Inputs:      mm (maintenance margin, money, >= 0), imBufferBps (bps).
 *   Outputs:     im = ceil(mm * (BPS + imBufferBps) / BPS)   (rounds up).
 *   Proves:      CeilDiv by the constant BPS = 10^4: remainder in [0, BPS),
 *                0 <= im < 2^63 (MONEY).
 *   Bit bounds:  mm < 2^64 and imBufferBps < 2^16 (model data) keep the product
 *                below 2^81; im's range check bounds mm in turn (im >= mm).
 *   Cost:        1 + 63 + 2 * 14.
 */
template InitialMargin() {
    var BPS = BPS();
    signal input mm;
    signal input imBufferBps;
    signal output im;

    signal scaled;
    scaled <== mm * (BPS + imBufferBps);
    component div = CeilDiv(MONEY_BITS(), BPS_BITS());
    div.num <== scaled;
    div.den <== BPS;
    im <== div.quot;
}
