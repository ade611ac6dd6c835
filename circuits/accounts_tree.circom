pragma circom 2.1.0;

include "poseidon.circom";
include "bitify.circom";

/*
 * The venue's accounts tree: Poseidon(2) per node, empty leaf 0
 * (calcm.zk.poseidon.AccountsTree; docs/ARCHITECTURE.md).
 *
 * GroupSubtreeRoot(logN)
 *   Inputs:      leaves[2^logN]: the account commitments of one aligned group.
 *   Outputs:     root of the subtree over them (level logN of the tree).
 *   Cost:        (2^logN - 1) Poseidon(2).
 *
 * GroupPath(levels)
 *   Inputs:      node (the group's subtree root), group (the group index),
 *                siblings[levels] (bottom-up).
 *   Outputs:     root = the tree root this path leads to.
 *   Proves:      0 <= group < 2^levels (its bits choose left/right per level),
 *                and the root recomputation.
 *   Cost:        levels * (Poseidon(2) + 2) constraints.
 *   Soundness:   Poseidon collision resistance; the group index range check
 *                makes the path position (and so the group) unique.
 */
template GroupSubtreeRoot(logN) {
    var N = 2 ** logN;
    signal input leaves[N];
    signal output root;

    if (logN == 0) {
        root <== leaves[0];
    } else {
        component h[N - 1];
        // Node i of the heap layout: children 2i+1, 2i+2; leaves occupy N-1 .. 2N-2.
        for (var i = N - 2; i >= 0; i--) {
            h[i] = Poseidon(2);
            for (var c = 0; c < 2; c++) {
                var child = 2 * i + 1 + c;
                if (child >= N - 1) {
                    h[i].inputs[c] <== leaves[child - (N - 1)];
                } else {
                    h[i].inputs[c] <== h[child].out;
                }
            }
        }
        root <== h[0].out;
    }
}

template GroupPath(levels) {
    signal input node;
    signal input group;
    signal input siblings[levels];
    signal output root;

    if (levels == 0) {
        group === 0;
        root <== node;
    } else {
        component bits = Num2Bits(levels);
        bits.in <== group;
        component h[levels];
        signal cur[levels + 1];
        signal swap[levels];
        cur[0] <== node;
        for (var l = 0; l < levels; l++) {
            // bit 1: the running node is a right child; swap = bit * (sibling - node).
            swap[l] <== bits.out[l] * (siblings[l] - cur[l]);
            h[l] = Poseidon(2);
            h[l].inputs[0] <== cur[l] + swap[l];
            h[l].inputs[1] <== siblings[l] - swap[l];
            cur[l + 1] <== h[l].out;
        }
        root <== cur[levels];
    }
}
