pragma circom 2.1.0;

include "bitify.circom";
include "../constants.circom";

/*
 * PricePack(U)
 *   Inputs:      price[U] (the block's prices, PRICE = 10^6 fixed point) and the
 *                public packed[ceil(U/5)].
 *   Proves:      1 <= price[u] < 2^48 (48 bits and an inverse), and
 *                packed[j] = sum_i price[5j + i] * 2^(50 i): the registry's
 *                packing of its price-feed answers (docs/ARCHITECTURE.md).
 *                With every price below 2^50 the packing is injective (5 * 50
 *                bits < 254), so the public inputs fix every price.
 *   Cost:        U * 50.
 */
template PricePack(U) {
    var LANES = PRICES_PER_FIELD();
    var NPACK = (U + LANES - 1) \ LANES;
    signal input price[U];
    signal input packed[NPACK];

    component bits[U];
    signal inv[U];
    for (var u = 0; u < U; u++) {
        bits[u] = Num2Bits(PRICE_BITS());
        bits[u].in <== price[u];
        // Pins inv and proves price[u] != 0 (a price of 0 has no inverse).
        inv[u] <-- 1 / price[u];
        inv[u] * price[u] === 1;
    }
    for (var j = 0; j < NPACK; j++) {
        var acc = 0;
        for (var i = 0; i < LANES; i++) {
            if (LANES * j + i < U) {
                acc += price[LANES * j + i] * 2 ** (PRICE_LANE_BITS() * i);
            }
        }
        packed[j] === acc;
    }
}
