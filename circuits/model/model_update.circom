pragma circom 2.1.0;

include "../model_commitment.circom";
include "shift.circom";
include "price_pack.circom";
include "state_commitment.circom";
include "param_hash.circom";
include "asset_step.circom";
include "ln.circom";
include "black76.circom";

/*
 * ModelUpdate(U, S, n, m, k, kinds, under, coll, STRUCT_ID)
 *
 * What it proves, per block: the committed margin model (scenarioCommitment,
 * the sponge of MarginModelFx.field_elements() that the margin circuit takes)
 * is EXACTLY what the public model gives from the previous committed state and
 * the block's public prices (calcm.risk.model_fx.update, bit for bit):
 *   1. prevStateCommitment opens to (step, sigma2Prev, pricePrev);
 *   2. packedPrices pack the private prices (each in [1, 2^48));
 *   3. paramHash is the hash of the parameters used (and of the structure);
 *   4. per asset: simple return, GJR-GARCH variance, sigma = isqrt, the move
 *      a_u = P sigma sqrt(h) and the -95% floor (AssetStep);
 *   5. newStateCommitment commits (step + 1, sigma2Next, price);
 *   6. per scenario and asset: lin = max(z a_u, floor) (ScenarioMove);
 *   7. spot and perp P&L = lin; options: Black-76 full revaluation at the base
 *      (T, iv) and in every scenario (T - h, iv (1 + shock), F + lin), LnInt and
 *      NormalCdf by piecewise polynomials, puts by parity;
 *   8. marks, exposures, collateral prices, and the ModelCommitment of it all;
 *   9. context (chain id, registry, block) is bound by squaring.
 *
 * Public inputs, in this order (the registry's): prevStateCommitment,
 * newStateCommitment, scenarioCommitment, paramHash, context,
 * packedPrices[ceil(U/5)]. There are no public outputs.
 *
 * Parameters (compile time; covered by STRUCT_ID in the parameter hash):
 *   U assets, S scenarios, n instruments, m collateral assets, k the ES tail
 *   size; kinds[n] (0 spot, 1 perp, 2 call, 3 put), under[n] (asset index),
 *   coll[m] (asset index, or -1 for a stablecoin priced at 1 USD).
 *
 * Soundness assumptions: Poseidon is collision resistant; the parameter
 * preimage was range-checked by ModelParamsFx when governance published its
 * hash; the genesis state was range-checked when it was committed (every later
 * state is range-checked here). Every `<--` in the included templates is
 * pinned by the constraints written directly below it.
 *
 * Cost (measured, docs/MODEL_CIRCUIT.md): about 700 per asset, 71 per
 * scenario-asset, 227 per scenario-asset that carries options, ~710 per
 * scenario-option, plus ~609 per 15 hashed elements.
 */
template ModelUpdate(U, S, n, m, k, kinds, under, coll, STRUCT_ID) {
    var NPACK = (U + 4) \ 5;
    var NOPT = 0;
    var optOf[n];
    var hasOpt[U];
    for (var u = 0; u < U; u++) {
        hasOpt[u] = 0;
    }
    for (var i = 0; i < n; i++) {
        assert(kinds[i] >= 0 && kinds[i] <= 3);
        assert(under[i] >= 0 && under[i] < U);
        optOf[i] = -1;
        if (kinds[i] >= 2) {
            optOf[i] = NOPT;
            NOPT++;
            hasOpt[under[i]] = 1;
        }
    }
    var SO = NOPT > 0 ? S : 0;
    var PRICE_SCALE = 1000000;

    // ---- public inputs (the registry's order) --------------------------------------
    signal input prevStateCommitment;
    signal input newStateCommitment;
    signal input scenarioCommitment;
    signal input paramHash;
    signal input context;
    signal input packedPrices[NPACK];

    // ---- private inputs: previous state, prices, parameters ------------------------
    signal input step;
    signal input sigma2Prev[U];
    signal input pricePrev[U];
    signal input price[U];
    signal input horizonDays;
    signal input sqrtH;
    signal input imBufferBps;
    signal input warnBufferBps;
    signal input minReturnBps;
    signal input omega[U];
    signal input alpha[U];
    signal input gamma[U];
    signal input beta[U];
    signal input adv[U];
    signal input weightBps[U];
    signal input haircutBps[m];
    signal input z[S][U];
    signal input volShock[SO];
    signal input shockWeight[SO];
    signal input strike[NOPT];
    signal input expiry[NOPT];
    signal input iv[NOPT];
    signal input lnK[NOPT];
    signal input v[NOPT];
    signal input invV[NOPT];
    signal input vAfter[NOPT];
    signal input invVAfter[NOPT];

    // 1. The previous state.
    component prev = StateCommitment(U);
    prev.step <== step;
    prev.sigma2 <== sigma2Prev;
    prev.price <== pricePrev;
    prev.commitment === prevStateCommitment;

    // 2. The block's prices.
    component pack = PricePack(U);
    pack.price <== price;
    pack.packed <== packedPrices;

    // 3. The parameters.
    component params = ParamHash(U, S, m, NOPT, STRUCT_ID);
    params.horizonDays <== horizonDays;
    params.sqrtH <== sqrtH;
    params.imBufferBps <== imBufferBps;
    params.warnBufferBps <== warnBufferBps;
    params.minReturnBps <== minReturnBps;
    params.omega <== omega;
    params.alpha <== alpha;
    params.gamma <== gamma;
    params.beta <== beta;
    params.adv <== adv;
    params.weightBps <== weightBps;
    params.haircutBps <== haircutBps;
    params.z <== z;
    params.volShock <== volShock;
    params.shockWeight <== shockWeight;
    params.strike <== strike;
    params.expiry <== expiry;
    params.iv <== iv;
    params.lnK <== lnK;
    params.v <== v;
    params.invV <== invV;
    params.vAfter <== vAfter;
    params.invVAfter <== invVAfter;
    params.hash === paramHash;

    // 4. Per asset: return, GARCH, sigma, move, floor.
    component asset[U];
    for (var u = 0; u < U; u++) {
        asset[u] = AssetStep();
        asset[u].p0 <== pricePrev[u];
        asset[u].sigma2 <== sigma2Prev[u];
        asset[u].p1 <== price[u];
        asset[u].omega <== omega[u];
        asset[u].alpha <== alpha[u];
        asset[u].gamma <== gamma[u];
        asset[u].beta <== beta[u];
        asset[u].sqrtH <== sqrtH;
        asset[u].minRetBps <== minReturnBps;
    }

    // 5. The new state.
    component next = StateCommitment(U);
    next.step <== step + 1;
    for (var u = 0; u < U; u++) {
        next.sigma2[u] <== asset[u].sigma2Next;
    }
    next.price <== price;
    next.commitment === newStateCommitment;

    // 6. Scenario moves.
    component mv[S][U];
    for (var s = 0; s < S; s++) {
        for (var u = 0; u < U; u++) {
            mv[s][u] = ScenarioMove();
            mv[s][u].z <== z[s][u];
            mv[s][u].move <== asset[u].move;
            mv[s][u].floor <== asset[u].floor;
        }
    }

    // 7. Options: logs of the prices that carry options, then Black-76.
    component lnP[U];
    component lnS[S][U];
    for (var u = 0; u < U; u++) {
        if (hasOpt[u] == 1) {
            lnP[u] = LnInt();
            lnP[u].x <== price[u];
            for (var s = 0; s < S; s++) {
                lnS[s][u] = LnInt();
                lnS[s][u].x <== price[u] + mv[s][u].lin;
            }
        }
    }
    component base[NOPT];
    component scen[S][NOPT];
    for (var i = 0; i < n; i++) {
        var o = optOf[i];
        if (o >= 0) {
            var u = under[i];
            base[o] = Black76Call();
            base[o].lnF <== lnP[u].out;
            base[o].F <== price[u];
            base[o].K <== strike[o];
            base[o].lnK <== lnK[o];
            base[o].invV <== invV[o];
            base[o].v <== v[o];
            base[o].w <== 2 ** 24;
            base[o].u <== 2 ** 16;
            for (var s = 0; s < S; s++) {
                scen[s][o] = Black76Call();
                scen[s][o].lnF <== lnS[s][u].out;
                scen[s][o].F <== price[u] + mv[s][u].lin;
                scen[s][o].K <== strike[o];
                scen[s][o].lnK <== lnK[o];
                scen[s][o].invV <== invVAfter[o];
                scen[s][o].v <== vAfter[o];
                scen[s][o].w <== shockWeight[s];
                scen[s][o].u <== 2 ** 16 + volShock[s];
            }
        }
    }
    component delta[NOPT];

    // 8. The margin model and its commitment.
    component model = ModelCommitment(S, n, U, m, k);
    for (var i = 0; i < n; i++) {
        var u = under[i];
        var o = optOf[i];
        for (var s = 0; s < S; s++) {
            if (o < 0) {
                model.pnl[s][i] <== mv[s][u].lin;
            } else if (kinds[i] == 2) {
                model.pnl[s][i] <== scen[s][o].value - base[o].value;
            } else {
                model.pnl[s][i] <== scen[s][o].value - base[o].value - mv[s][u].lin;
            }
        }
        if (o < 0) {
            model.mark[i] <== kinds[i] == 0 ? price[u] : 0;
        } else if (kinds[i] == 2) {
            model.mark[i] <== base[o].value;
        } else {
            model.mark[i] <== base[o].value - price[u] + strike[o];
        }
        for (var w = 0; w < U; w++) {
            if (w != u) {
                model.exposure[w][i] <== 0;
            } else if (o < 0) {
                model.exposure[w][i] <== price[u];
            } else {
                // N(d1) F, rounded: the delta notional of one option.
                delta[o] = RoundShiftUnsigned(32, 49);
                delta[o].in <== base[o].n1 * price[u];
                model.exposure[w][i] <== kinds[i] == 2 ? delta[o].out : delta[o].out - price[u];
            }
        }
    }
    for (var j = 0; j < m; j++) {
        if (coll[j] < 0) {
            model.collateralPrice[j] <== PRICE_SCALE;
        } else {
            model.collateralPrice[j] <== price[coll[j]];
        }
    }
    model.haircutBps <== haircutBps;
    model.adv <== adv;
    model.weightBps <== weightBps;
    model.imBufferBps <== imBufferBps;
    model.warnBufferBps <== warnBufferBps;
    model.commitment === scenarioCommitment;

    // 9. Bind the context (chain id, registry, block) to the proof (Semaphore's trick).
    signal contextSquared <== context * context;
}
