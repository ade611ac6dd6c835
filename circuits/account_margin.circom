pragma circom 2.1.0;

include "range.circom";
include "losses.circom";
include "tail.circom";
include "expected_shortfall.circom";
include "addon.circom";
include "initial_margin.circom";
include "collateral.circom";
include "equity.circom";
include "health_tier.circom";

/*
 * AccountMargin(S, n, U, m, k): one account's margin and health tier,
 * bit for bit calcm.risk.fixed_margin.margin_fx.
 *
 *   Inputs (model, public data committed by ModelCommitment):
 *                pnl[S][n], mark[n], exposure[U][n], collateralPrice[m],
 *                haircutBps[m], adv[U], weightBps[U], imBufferBps, warnBufferBps.
 *   Inputs (account, private):
 *                qty[n] (QTY scale, signed), collateral[m] (QTY scale);
 *                prover hints for the ES tail: inTail[S], threshold.
 *   Outputs:     es, addon, mm, im, collateralValue, equity, tier (money, tier 0..3).
 *   Proves:      qty[i] in [-2^40, 2^40) and collateral[j] in [0, 2^40) (by offset);
 *                loss[s] = -qty . pnl[s]; the top-k tail sum (TailSum);
 *                es = max(ceil(tail / k), 0); addon; mm = es + addon;
 *                im = ceil(mm * (BPS + imBuffer) / BPS);
 *                collateralValue = floor(sum c p (BPS - h) / BPS);
 *                equity = collateralValue + qty . mark; the tier.
 *   Bit bounds:  see each template. QTY's documented range is (-2^40, 2^40); the
 *                circuit's power-of-two check also admits -2^40, which the
 *                Python reference rejects before proving (both bound |qty| by
 *                2^40, which is what soundness needs).
 *   Soundness:   the model values are in their MarginModelFx ranges (they are
 *                public and bound by the commitment). Nothing is assumed of the
 *                account: every account value is range-checked here.
 *   Cost:        S (n + 66) + 42 n + 42 m + U (n + 256) + 2 bits(k) + ~460 (docs/CIRCUITS.md).
 */
template AccountMargin(S, n, U, m, k) {
    var QTY_BITS = 40;
    var MONEY_BITS = 63;
    var B = MONEY_BITS + 1;

    signal input pnl[S][n];
    signal input mark[n];
    signal input exposure[U][n];
    signal input collateralPrice[m];
    signal input haircutBps[m];
    signal input adv[U];
    signal input weightBps[U];
    signal input imBufferBps;
    signal input warnBufferBps;

    signal input qty[n];
    signal input collateral[m];
    signal input inTail[S];
    signal input threshold;

    signal output es;
    signal output addon;
    signal output mm;
    signal output im;
    signal output collateralValue;
    signal output equity;
    signal output tier;

    component qtyRange[n];
    for (var i = 0; i < n; i++) {
        qtyRange[i] = SignedRange(QTY_BITS + 1);
        qtyRange[i].in <== qty[i];
    }
    component collateralRange[m];
    for (var j = 0; j < m; j++) {
        collateralRange[j] = UnsignedRange(QTY_BITS);
        collateralRange[j].in <== collateral[j];
    }

    component losses = ScenarioLosses(S, n);
    losses.qty <== qty;
    losses.pnl <== pnl;

    component tail = TailSum(S, k, B);
    tail.loss <== losses.loss;
    tail.inTail <== inTail;
    tail.threshold <== threshold;

    component shortfall = ExpectedShortfall(k, B);
    shortfall.tailSum <== tail.sum;
    es <== shortfall.es;

    component liquidity = LiquidityAddon(U, n);
    liquidity.qty <== qty;
    liquidity.exposure <== exposure;
    liquidity.adv <== adv;
    liquidity.weightBps <== weightBps;
    addon <== liquidity.addon;

    mm <== es + addon;

    component initial = InitialMargin();
    initial.mm <== mm;
    initial.imBufferBps <== imBufferBps;
    im <== initial.im;

    component cv = HaircutCollateralValue(m);
    cv.amount <== collateral;
    cv.price <== collateralPrice;
    cv.haircutBps <== haircutBps;
    collateralValue <== cv.value;

    component eq = Equity(n);
    eq.collateralValue <== collateralValue;
    eq.qty <== qty;
    eq.mark <== mark;
    equity <== eq.equity;

    component health = HealthTier();
    health.equity <== equity;
    health.mm <== mm;
    health.im <== im;
    health.warnBufferBps <== warnBufferBps;
    tier <== health.tier;
}
