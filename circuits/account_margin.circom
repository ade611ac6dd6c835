pragma circom 2.1.0;

include "range.circom";
include "positions.circom";
include "losses.circom";
include "perp_basis.circom";
include "tail.circom";
include "expected_shortfall.circom";
include "addon.circom";
include "initial_margin.circom";
include "collateral.circom";
include "equity.circom";
include "health_tier.circom";
include "constants.circom";

/*
 * AccountMargin(kinds, under, coll, S, U, n, m, k): one account's margin and
 * health tier, bit for bit calcm.risk.fixed_margin.margin_fx (v2, docs/PROVING.md §2).
 *
 *   Parameters:  the model structure: kinds[n], under[n], coll[m] (underlying or
 *                -1 for a stablecoin at 1 USD), S, U, n, m, k.
 *   Inputs (model, bound by the batch's commitments): price[U], lin[S][U],
 *                opt[S][nOpt], optMark[nOpt], optExpo[nOpt], haircutBps[m], adv[U],
 *                weightBps[U], perpMove[U], imBufferBps, warnBufferBps.
 *   Inputs (account, private): qty[n] (QTY, signed), collateral[m] (QTY);
 *                tail hints inTail[S], tailStep[S], threshold (TailSum).
 *   Outputs:     es, addon, mm, im, collateralValue, equity, tier.
 *   Proves:      positions and collateral in range; loss[s] = charge - (nq . lin[s] +
 *                qOpt . opt[s]) with charge the PerpBasisLoss; the top-k tail sum
 *                with the published tie rule;
 *                es = max(ceil(tail / k), 0); addon; mm = es + addon;
 *                im = ceil(mm (BPS + imBuffer) / BPS); collateralValue =
 *                floor(sum c p (BPS - h) / BPS) with p = price[coll[j]] or 10^6;
 *                equity = collateralValue + spot marks + option premiums; the tier.
 *   Soundness:   the model values are in their MarginModelFx ranges (public and
 *                bound by the commitments). Every account value is range-checked.
 *   Composes:    AccountPositions, AccountShortfall (ES), LiquidityAddon, InitialMargin,
 *                AccountHealth.
 *   Cost:        S (U + nOpt + 68) + 41 n + 40 m + ~ U 258 + 2 (U + nOpt) + ~560.
 */
template AccountMargin(kinds, under, coll, S, U, n, m, k) {
    var nOpt = countOptions(kinds, n);
    var optUnder[1024] = optionUnderlyings(kinds, under, n);
    signal input price[U];
    signal input lin[S][U];
    signal input opt[S][nOpt];
    signal input optMark[nOpt];
    signal input optExpo[nOpt];
    signal input haircutBps[m];
    signal input adv[U];
    signal input weightBps[U];
    signal input perpMove[U];
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
        collateralRange[j] = UnsignedRange(QTY_BITS());
        collateralRange[j].in <== collateral[j];
    }

    component risk = AccountShortfall(kinds, under, S, U, n, k);
    risk.nq <== pos.nq;
    risk.perpQty <== pos.perpQty;
    risk.qOpt <== pos.qOpt;
    risk.lin <== lin;
    risk.opt <== opt;
    risk.perpMove <== perpMove;
    risk.inTail <== inTail;
    risk.tailStep <== tailStep;
    risk.threshold <== threshold;
    es <== risk.es;

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

    component health = AccountHealth(coll, U, m, nOpt);
    health.price <== price;
    health.haircutBps <== haircutBps;
    health.warnBufferBps <== warnBufferBps;
    health.collateral <== collateral;
    health.spotQty <== pos.spotQty;
    health.qOpt <== pos.qOpt;
    health.optMark <== optMark;
    health.mm <== mm;
    health.im <== im;
    collateralValue <== health.collateralValue;
    equity <== health.equity;
    tier <== health.tier;
}


/*
 * AccountHealth(coll, U, m, nOpt): collateral value, equity and tier of one account.
 *   Parameters:  coll[m]: the underlying of each collateral asset, or -1 for a
 *                stablecoin valued at 1 USD (PRICE_SCALE).
 *   Inputs:      price[U], haircutBps[m], warnBufferBps, optMark[nOpt] (model);
 *                collateral[m] (range-checked by the caller), spotQty[U], qOpt[nOpt]
 *                (AccountPositions), mm and im (money, 0 <= mm <= im).
 *   Outputs:     collateralValue = floor(sum_j c[j] cprice[j] (BPS - h[j]) / BPS),
 *                cprice[j] = price[coll[j]] or PRICE_SCALE; equity (Equity); tier (HealthTier).
 *   Cost:        2m + 91 + U + nOpt + 212.
 */
template AccountHealth(coll, U, m, nOpt) {
    var PRICE_SCALE = PRICE_SCALE();
    signal input price[U];
    signal input haircutBps[m];
    signal input warnBufferBps;
    signal input optMark[nOpt];
    signal input collateral[m];
    signal input spotQty[U];
    signal input qOpt[nOpt];
    signal input mm;
    signal input im;
    signal output collateralValue;
    signal output equity;
    signal output tier;

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
    eq.spotQty <== spotQty;
    eq.price <== price;
    eq.qOpt <== qOpt;
    eq.optMark <== optMark;
    equity <== eq.equity;

    component health = HealthTier();
    health.equity <== equity;
    health.mm <== mm;
    health.im <== im;
    health.warnBufferBps <== warnBufferBps;
    tier <== health.tier;
}

/*
 * AccountShortfall(kinds, under, S, U, n, k): one account's expected shortfall.
 *   Inputs:      nq[U], perpQty[U], qOpt[nOpt] (AccountPositions); lin[S][U],
 *                opt[S][nOpt], perpMove[U] (model, bound by the batch's commitments);
 *                the tail hints inTail[S], tailStep[S], threshold (TailSum).
 *   Outputs:     es = max(ceil(tail / k), 0) over loss[s] = charge - (nq . lin[s] +
 *                qOpt . opt[s]), charge = PerpBasisLoss (the perp basis + funding loss
 *                every scenario carries), tail the top-k sum with the published tie rule.
 *   Bit bounds:  |loss| < 2^99 (ScenarioLosses); TailSum's window MONEY_BITS + 1.
 *   Cost:        S (U + nOpt + 68) + ~42 per underlying with a perp + ~130.
 */
template AccountShortfall(kinds, under, S, U, n, k) {
    var nOpt = countOptions(kinds, n);
    signal input nq[U];
    signal input perpQty[U];
    signal input qOpt[nOpt];
    signal input lin[S][U];
    signal input opt[S][nOpt];
    signal input perpMove[U];
    signal input inTail[S];
    signal input tailStep[S];
    signal input threshold;
    signal output es;

    component basis = PerpBasisLoss(kinds, under, U, n);
    basis.perpQty <== perpQty;
    basis.perpMove <== perpMove;

    component losses = ScenarioLosses(S, U, nOpt);
    losses.shift <== basis.charge;
    losses.nq <== nq;
    losses.qOpt <== qOpt;
    losses.lin <== lin;
    losses.opt <== opt;

    component tail = TailSum(S, k, MONEY_BITS() + 1);
    tail.loss <== losses.loss;
    tail.inTail <== inTail;
    tail.tailStep <== tailStep;
    tail.threshold <== threshold;

    component shortfall = ExpectedShortfall(k, MONEY_BITS() + 1);
    shortfall.tailSum <== tail.sum;
    es <== shortfall.es;
}
