pragma circom 2.1.0;

include "account_margin.circom";
include "account_commitment.circom";
include "model_commitment.circom";
include "accounts_tree.circom";

/*
 * MarginBatch(N, D, S, n, U, m, k): the margins and health tiers of one aligned
 * group of N accounts of the venue's accounts tree, against one block's model.
 *
 *   Public inputs (docs/ARCHITECTURE.md, in this order):
 *     accountsRoot        the venue's current accounts-tree root;
 *     scenarioCommitment  PoseidonSponge of the block's MarginModelFx;
 *     context             keccak(chainid, registry, block) >> 3: binds the
 *                         proof to one chain, registry and block (squared
 *                         below, Semaphore's trick, so it sits in a constraint);
 *     packedResult        group + 2^32 * sum_a tier[a] * 4^a.
 *   Private inputs:
 *     the model (pnl, mark, exposure, collateralPrice, haircutBps, adv,
 *     weightBps, imBufferBps, warnBufferBps); per account salt, qty, collateral
 *     and the ES tail hints (inTail, threshold); group; siblings (the group
 *     subtree root's path to the accounts root, D - log2 N levels).
 *   Proves:      the model hashes to scenarioCommitment; the N account
 *                commitments form group `group` of the tree rooted at
 *                accountsRoot; each account's tier is AccountMargin's; the
 *                packed result is exactly group and those tiers.
 *   Parameters:  N a power of two <= 64 (N tiers of 2 bits above 32 bits of
 *                group fit below p); D - log2 N <= 32 so group < 2^32.
 *   Soundness:   Poseidon collision resistance (commitments, tree); model data
 *                in range (see ModelCommitment). Nothing about positions or
 *                collateral is public: only commitments (salted) and tiers.
 */
template MarginBatch(N, D, S, n, U, m, k) {
    var logN = 0;
    while (2 ** logN < N) {
        logN++;
    }
    assert(2 ** logN == N);
    assert(N <= 64);
    assert(D >= logN && D - logN <= 32);

    signal input accountsRoot;
    signal input scenarioCommitment;
    signal input context;
    signal input packedResult;

    signal input pnl[S][n];
    signal input mark[n];
    signal input exposure[U][n];
    signal input collateralPrice[m];
    signal input haircutBps[m];
    signal input adv[U];
    signal input weightBps[U];
    signal input imBufferBps;
    signal input warnBufferBps;

    signal input salt[N];
    signal input qty[N][n];
    signal input collateral[N][m];
    signal input inTail[N][S];
    signal input threshold[N];
    signal input group;
    signal input siblings[D - logN];

    // Model binding: the data every account is margined with is the committed model.
    component model = ModelCommitment(S, n, U, m, k);
    model.pnl <== pnl;
    model.mark <== mark;
    model.exposure <== exposure;
    model.collateralPrice <== collateralPrice;
    model.haircutBps <== haircutBps;
    model.adv <== adv;
    model.weightBps <== weightBps;
    model.imBufferBps <== imBufferBps;
    model.warnBufferBps <== warnBufferBps;
    scenarioCommitment === model.commitment;

    // Account binding: the N commitments are group `group` of the current tree.
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
    accountsRoot === path.root;

    // Margins and tiers, packed 2 bits per account above the 32-bit group.
    component margin[N];
    var packed = group;
    for (var a = 0; a < N; a++) {
        margin[a] = AccountMargin(S, n, U, m, k);
        margin[a].pnl <== pnl;
        margin[a].mark <== mark;
        margin[a].exposure <== exposure;
        margin[a].collateralPrice <== collateralPrice;
        margin[a].haircutBps <== haircutBps;
        margin[a].adv <== adv;
        margin[a].weightBps <== weightBps;
        margin[a].imBufferBps <== imBufferBps;
        margin[a].warnBufferBps <== warnBufferBps;
        margin[a].qty <== qty[a];
        margin[a].collateral <== collateral[a];
        margin[a].inTail <== inTail[a];
        margin[a].threshold <== threshold[a];
        packed += margin[a].tier * 2 ** (32 + 2 * a);
    }
    packedResult === packed;

    // Binds context into a constraint (an unused public input could be altered freely).
    signal contextSquared;
    contextSquared <== context * context;
}
