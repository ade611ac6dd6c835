// Test harness (not part of the product): exposes circomlib Poseidon at every
// width, calcm's sponge at chunk boundaries and the accounts-tree templates, so
// tests/zk/test_poseidon.py can compare them with calcm.zk.poseidon.
pragma circom 2.1.0;

include "poseidon.circom";
include "sponge.circom";
include "accounts_tree.circom";

template PoseidonVectors() {
    signal input x[31];
    signal input group;
    signal input siblings[2];
    signal output h[4];           // Poseidon(w)(x[0..w-1]), w = 1, 2, 3, 16
    signal output sponge[3];      // PoseidonSponge(len)(x[0..len-1]), len = 1, 15, 31
    signal output subtree;        // GroupSubtreeRoot(2)(x[0..3])
    signal output root;           // GroupPath(2)(subtree, group, siblings)

    var widths[4] = [1, 2, 3, 16];
    component p[4];
    for (var j = 0; j < 4; j++) {
        p[j] = Poseidon(widths[j]);
        for (var i = 0; i < widths[j]; i++) {
            p[j].inputs[i] <== x[i];
        }
        h[j] <== p[j].out;
    }
    var lens[3] = [1, 15, 31];
    component s[3];
    for (var j = 0; j < 3; j++) {
        s[j] = PoseidonSponge(lens[j]);
        for (var i = 0; i < lens[j]; i++) {
            s[j].in[i] <== x[i];
        }
        sponge[j] <== s[j].out;
    }
    component sub = GroupSubtreeRoot(2);
    for (var i = 0; i < 4; i++) {
        sub.leaves[i] <== x[i];
    }
    subtree <== sub.root;
    component path = GroupPath(2);
    path.node <== subtree;
    path.group <== group;
    path.siblings <== siblings;
    root <== path.root;
}

component main = PoseidonVectors();
