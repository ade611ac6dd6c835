pragma circom 2.1.0;

include "account_margin.circom";
include "account_commitment.circom";
include "model_commitment.circom";
include "accounts_tree.circom";
include "parameter_ranges.circom";
include "constants.circom";

/*
 * BatchAccounts(n, m, N, D): N account commitments form aligned group `group`
 * of the accounts tree rooted at `root`.
 *   Inputs:      salt[N], qty[N][n], collateral[N][m], group, siblings[D - log2 N].
 *   Outputs:     root (the accounts-tree root these openings imply).
 *   Parameters:  N a power of two <= 64, D - log2 N <= 32 (group < 2^32).
 *   Cost:        N AccountCommitment + (N - 1) Poseidon(2) + (D - log2 N) (Poseidon(2) + 2).
 *   Soundness:   Poseidon collision resistance.
 */
template BatchAccounts(n, m, N, D) {
    var logN = 0;
    while (2 ** logN < N) {
        logN++;
    }
    assert(2 ** logN == N && N <= 64 && D >= logN && D - logN <= 32);
    signal input salt[N];
    signal input qty[N][n];
    signal input collateral[N][m];
    signal input group;
    signal input siblings[D - logN];
    signal output root;

    component commit[N];
    component subtree = GroupSubtreeRoot(logN);
    for (var a = 0; a < N; a++) {
        commit[a] = AccountCommitment(n, m);
        commit[a].salt <== salt[a];
        commit[a].qty <== qty[a];
        commit[a].collateral <== collateral[a];
        subtree.leaves[a] <== commit[a].commitment;
    }
    component path = GroupPath(D - logN);
    path.node <== subtree.root;
    path.group <== group;
    path.siblings <== siblings;
    root <== path.root;
}

/*
 * BatchModel(S, U, n, m, k, C, STRUCT_ID, nOpt): the model values one batch uses are the
 * committed ones, and the governance parameters among them are in range.
 *   Inputs:      linCommitment, optCommitment (public, from MarginBatch); price[U],
 *                lin[S][U], opt[S][nOpt], optMark[nOpt], optExpo[nOpt], haircutBps[m],
 *                adv[U], weightBps[U], perpMove[U], imBufferBps, warnBufferBps (private).
 *   Proves:      LinCommitment(price, adv, weightBps, haircutBps, perpMove, buffers, lin) =
 *                linCommitment; OptCommitment(optMark, optExpo, opt) = optCommitment;
 *                MarginParamRanges on haircutBps, weightBps and the buffers (issue 13
 *                A4: once per batch, where they enter).
 *   Soundness:   Poseidon collision resistance.
 *   Cost:        the two sponges + MarginParamRanges (docs/CIRCUITS.md).
 */
template BatchModel(S, U, n, m, k, C, STRUCT_ID, nOpt) {
    signal input linCommitment;
    signal input optCommitment;
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

    component linC = LinCommitment(S, U, n, m, k, STRUCT_ID);
    linC.price <== price;
    linC.adv <== adv;
    linC.weightBps <== weightBps;
    linC.haircutBps <== haircutBps;
    linC.perpMove <== perpMove;
    linC.imBufferBps <== imBufferBps;
    linC.warnBufferBps <== warnBufferBps;
    linC.lin <== lin;
    linCommitment === linC.commitment;
    component optC = OptCommitment(S, nOpt, C);
    optC.optMark <== optMark;
    optC.optExpo <== optExpo;
    optC.opt <== opt;
    optCommitment === optC.commitment;
    component ranges = MarginParamRanges(U, m);
    ranges.haircutBps <== haircutBps;
    ranges.weightBps <== weightBps;
    ranges.imBufferBps <== imBufferBps;
    ranges.warnBufferBps <== warnBufferBps;
    ranges.perpMove <== perpMove;
}

/*
 * MarginBatch(kinds, under, coll, S, U, n, m, k, C, STRUCT_ID, N, D): the margins
 * and health tiers of one aligned group of N accounts against one model version
 * (docs/PROVING.md §2, §3, §6).
 *
 *   Public inputs (registry order, binding):
 *     accountsRoot   the venue's accounts-tree root;
 *     linCommitment  LinCommitment of the model's linear part (price, lin, rates);
 *     optCommitment  OptCommitment of the option part (0 without options);
 *     context        keccak(chainid, registry, block) >> 3 (squared below, so it
 *                    sits in a constraint);
 *     packedResult   group + 2^32 * N + 2^40 * sum_a tier[a] * 4^a (N, 8 bits
 *                    at 32..39, binds the batch size to the registry's groupSize).
 *   Private inputs:  the model values (price, lin, opt, optMark, optExpo,
 *     haircutBps, adv, weightBps, perpMove, buffers); per account salt, qty, collateral and
 *     the tail hints; group; siblings.
 *   Parameters:  the model structure (compile-time, hashed into STRUCT_ID, which
 *                linCommitment covers); N a power of two <= 64; D - log2 N <= 32.
 *   Proves:      the model values hash to linCommitment / optCommitment; the N
 *                accounts are group `group` of accountsRoot; each tier is
 *                AccountMargin's; packedResult is exactly group, N and those tiers.
 *   Soundness:   Poseidon collision resistance. The governance parameters'
 *                ranges are checked here (MarginParamRanges: haircuts, weights,
 *                buffers; ADV by the add-on's divisor range); prices, scenario
 *                moves and option values are range-bound by the model circuits
 *                that compute them.
 *   Composes:    BatchModel (commitments, ranges), BatchAccounts (tree opening),
 *                N AccountMargin (margins, tiers), packed as calcm.zk.witness.pack_result.
 *   Cost:        N (S (U + nOpt + 68) + ...) + the two sponges (docs/CIRCUITS.md).
 */
template MarginBatch(kinds, under, coll, S, U, n, m, k, C, STRUCT_ID, N, D) {
    var nOpt = countOptions(kinds, n);
    var logN = 0;
    while (2 ** logN < N) {
        logN++;
    }
    signal input accountsRoot;
    signal input linCommitment;
    signal input optCommitment;
    signal input context;
    signal input packedResult;

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

    signal input salt[N];
    signal input qty[N][n];
    signal input collateral[N][m];
    signal input inTail[N][S];
    signal input tailStep[N][S];
    signal input threshold[N];
    signal input group;
    signal input siblings[D - logN];

    component model = BatchModel(S, U, n, m, k, C, STRUCT_ID, nOpt);
    model.linCommitment <== linCommitment;
    model.optCommitment <== optCommitment;
    model.price <== price;
    model.lin <== lin;
    model.opt <== opt;
    model.optMark <== optMark;
    model.optExpo <== optExpo;
    model.haircutBps <== haircutBps;
    model.adv <== adv;
    model.weightBps <== weightBps;
    model.perpMove <== perpMove;
    model.imBufferBps <== imBufferBps;
    model.warnBufferBps <== warnBufferBps;
    component accounts = BatchAccounts(n, m, N, D);
    accounts.salt <== salt;
    accounts.qty <== qty;
    accounts.collateral <== collateral;
    accounts.group <== group;
    accounts.siblings <== siblings;
    accountsRoot === accounts.root;
    component margin[N];
    var packed = group + N * 2 ** RESULT_GROUP_BITS();
    for (var a = 0; a < N; a++) {
        margin[a] = AccountMargin(kinds, under, coll, S, U, n, m, k);
        margin[a].price <== price;
        margin[a].lin <== lin;
        margin[a].opt <== opt;
        margin[a].optMark <== optMark;
        margin[a].optExpo <== optExpo;
        margin[a].haircutBps <== haircutBps;
        margin[a].adv <== adv;
        margin[a].weightBps <== weightBps;
        margin[a].perpMove <== perpMove;
        margin[a].imBufferBps <== imBufferBps;
        margin[a].warnBufferBps <== warnBufferBps;
        margin[a].qty <== qty[a];
        margin[a].collateral <== collateral[a];
        margin[a].inTail <== inTail[a];
        margin[a].tailStep <== tailStep[a];
        margin[a].threshold <== threshold[a];
        packed += margin[a].tier * 2 ** (RESULT_TIERS_SHIFT() + 2 * a);
    }
    packedResult === packed;

    signal contextSquared <== context * context;
}
