pragma circom 2.1.0;

include "range.circom";
include "positions.circom";
include "losses.circom";
include "tail.circom";
include "expected_shortfall.circom";
include "addon.circom";
include "initial_margin.circom";
include "collateral.circom";
include "equity.circom";
include "health_tier.circom";

/*
 * AccountMargin(kinds, under, coll, S, U, n, m, k): one account's margin and
 * health tier, bit for bit calcm.risk.fixed_margin.margin_fx (v2, docs/PROVING.md §2).
 *
 *   Parameters:  the model structure: kinds[n], under[n], coll[m] (underlying or
 *                -1 for a stablecoin at 1 USD), S, U, n, m, k.
 *   Inputs (model, bound by the batch's commitments): price[U], lin[S][U],
 *                opt[S][nOpt], optMark[nOpt], optExpo[nOpt], haircutBps[m], adv[U],
 *                weightBps[U], imBufferBps, warnBufferBps.
 *   Inputs (account, private): qty[n] (QTY, signed), collateral[m] (QTY);
 *                tail hints inTail[S], tailStep[S], threshold (TailSum).
 *   Outputs:     es, addon, mm, im, collateralValue, equity, tier.
 *   Proves:      positions and collateral in range; loss[s] = -(nq . lin[s] +
 *                qOpt . opt[s]); the top-k tail sum with the published tie rule;
 *                es = max(ceil(tail / k), 0); addon; mm = es + addon;
 *                im = ceil(mm (BPS + imBuffer) / BPS); collateralValue =
 *                floor(sum c p (BPS - h) / BPS) with p = price[coll[j]] or 10^6;
 *                equity = collateralValue + spot marks + option premiums; the tier.
 *   Soundness:   the model values are in their MarginModelFx ranges (public and
 *                bound by the commitments). Every account value is range-checked.
 *   Cost:        S (U + nOpt + 68) + 41 n + 40 m + ~ U 258 + 2 (U + nOpt) + ~560.
 */
template AccountMargin(kinds, under, coll, S, U, n, m, k) {
    var nOpt = countOptions(kinds, n);
    var optUnder[1024] = optionUnderlyings(kinds, under, n);
    var PRICE_SCALE = 1000000;
    signal input price[U];
    signal input lin[S][U];
    signal input opt[S][nOpt];
    signal input optMark[nOpt];
    signal input optExpo[nOpt];
    signal input haircutBps[m];
    signal input adv[U];
    signal input weightBps[U];
    signal input imBufferBps;
    signal input warnBufferBps;
    signal input qty[n];
    signal input collateral[m];
    signal input inTail[S];
    signal input tailStep[S];
    signal input threshold;
    signal output es;
    signal output addon;
    signal output mm;
    signal output im;
    signal output collateralValue;
    signal output equity;
    signal output tier;

    component pos = AccountPositions(kinds, under, U, n);
    pos.qty <== qty;
    component collateralRange[m];
    for (var j = 0; j < m; j++) {
        collateralRange[j] = UnsignedRange(40);
        collateralRange[j].in <== collateral[j];
    }

    component losses = ScenarioLosses(S, U, nOpt);
    losses.nq <== pos.nq;
    losses.qOpt <== pos.qOpt;
    losses.lin <== lin;
    losses.opt <== opt;

    component tail = TailSum(S, k, 64);
    tail.loss <== losses.loss;
    tail.inTail <== inTail;
    tail.tailStep <== tailStep;
    tail.threshold <== threshold;

    component shortfall = ExpectedShortfall(k, 64);
    shortfall.tailSum <== tail.sum;
    es <== shortfall.es;

    component liquidity = LiquidityAddon(U, nOpt, optUnder);
    liquidity.nq <== pos.nq;
    liquidity.price <== price;
    liquidity.qOpt <== pos.qOpt;
    liquidity.optExpo <== optExpo;
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
    for (var j = 0; j < m; j++) {
        if (coll[j] < 0) {
            cv.price[j] <== PRICE_SCALE;
        } else {
            cv.price[j] <== price[coll[j]];
        }
    }
    cv.haircutBps <== haircutBps;
    collateralValue <== cv.value;

    component eq = Equity(U, nOpt);
    eq.collateralValue <== collateralValue;
    eq.spotQty <== pos.spotQty;
    eq.price <== price;
    eq.qOpt <== pos.qOpt;
    eq.optMark <== optMark;
    equity <== eq.equity;

    component health = HealthTier();
    health.equity <== equity;
    health.mm <== mm;
    health.im <== im;
    health.warnBufferBps <== warnBufferBps;
    tier <== health.tier;
}
