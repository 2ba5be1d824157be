pragma circom 2.1.0;

// Proof of reserves tier (b): one batch of B accounts x K assets, any K (docs/reserves.md, "Tier (b)").
//
// Proves, for every account i of the batch, without revealing it:
//   - every equity[i][a] and debt[i][a] is an integer in [0, 2^64)        (Num2Bits(64))
//   - sum_a equity[i][a] * ccoef[a] >= sum_a debt[i][a] * dcoef[a]     (haircut collateral covers debt)
//   - leaf[i] = HashWide(1, uid[i], equity[i][0..K), debt[i][0..K))  (computed here, bound to the sums)
// and for the batch:
//   - batch_root = binary Poseidon(2) Merkle root of leaf[0..B)
//   - chain_next = Poseidon(chain_prev, batch_root)
//   - totals_next[c] = totals_prev[c] + the batch's per-asset sums (equity columns, then debt columns)
//   - acc_prev = HashWide(2, chain_prev, totals_prev[0..2K), salt_prev)
//     acc_next = HashWide(2, chain_next, totals_next[0..2K), salt_next)
// HashWide(n) is Poseidon(n) for n <= 16 (circomlib's limit), else HashWide over the count n and
// the Poseidon of each consecutive chunk of 16 inputs (statement.hash_wide is the same in Python).
// Public signals, in snarkjs order (outputs, then public inputs):
//   batch_root, acc_prev, acc_next, ccoef[0..K), dcoef[0..K)
// The per-batch totals stay hidden behind the salted accumulators; only the last one is opened.
//
// Soundness notes:
//   - every balance that is multiplied or summed is range-checked first, so no field wrap-around
//     can act as a negative amount; the coefficients are public inputs, and the verifier checks
//     each is < 2^64 and equal to the one it recomputes from the signed snapshot's prices
//     (verify.py, zk.prices), so they are not range-checked again here (2K x 65 constraints);
//   - a product is < 2^128 and a side of the collateral inequality < 2^(128+ceil(log2 K)), so
//     the difference is range-checked on DIFF_BITS = 129 + ceil(log2 K) bits: a negative
//     difference is a field element near p and has no such decomposition;
//   - the leaf and accumulator hashes have different domain tags (1, 2) and the Merkle nodes use
//     another width of Poseidon (a wide hash ends in Poseidon(m + 1) with m >= 2 chunk hashes
//     and its input count first), so no value can be reinterpreted as another.

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";

function ceil_log2(n) {
    var r = 0;
    while ((1 << r) < n) {
        r++;
    }
    return r;
}

template HashWide(n) {
    signal input in[n];
    signal output out;
    var CHUNK = 16;
    var m = (n + CHUNK - 1) \ CHUNK;
    component single;
    component chunk[m];
    component top;
    if (n <= CHUNK) {
        single = Poseidon(n);
        for (var i = 0; i < n; i++) {
            single.inputs[i] <== in[i];
        }
        out <== single.out;
    } else {
        top = HashWide(m + 1);
        top.in[0] <== n;
        for (var c = 0; c < m; c++) {
            var len = n - CHUNK * c;
            if (len > CHUNK) {
                len = CHUNK;
            }
            chunk[c] = Poseidon(len);
            for (var i = 0; i < len; i++) {
                chunk[c].inputs[i] <== in[CHUNK * c + i];
            }
            top.in[1 + c] <== chunk[c].out;
        }
        out <== top.out;
    }
}

template PorBatch(LOG_B, K) {
    var B = 1 << LOG_B;
    var DIFF_BITS = 129 + ceil_log2(K);

    signal input ccoef[K];          // public: collateral value per atom (price * weight, scaled)
    signal input dcoef[K];          // public: debt value per atom (price, scaled)
    signal input uid[B];            // private: the account's salted id commitment (a field element)
    signal input equity[B][K];      // private
    signal input debt[B][K];        // private
    signal input chain_prev;        // private: opening of acc_prev
    signal input totals_prev[2*K];
    signal input salt_prev;
    signal input salt_next;         // private: fresh salt of acc_next

    signal output batch_root;
    signal output acc_prev;
    signal output acc_next;

    component eqBits[B][K];
    component dbBits[B][K];
    signal cprod[B][K];
    signal dprod[B][K];
    component diffBits[B];
    component leaf[B];
    for (var i = 0; i < B; i++) {
        var collateral = 0;
        var owed = 0;
        for (var a = 0; a < K; a++) {
            eqBits[i][a] = Num2Bits(64);
            eqBits[i][a].in <== equity[i][a];
            dbBits[i][a] = Num2Bits(64);
            dbBits[i][a].in <== debt[i][a];
            cprod[i][a] <== equity[i][a] * ccoef[a];
            dprod[i][a] <== debt[i][a] * dcoef[a];
            collateral += cprod[i][a];
            owed += dprod[i][a];
        }
        diffBits[i] = Num2Bits(DIFF_BITS);
        diffBits[i].in <== collateral - owed;

        leaf[i] = HashWide(2 + 2*K);
        leaf[i].in[0] <== 1;
        leaf[i].in[1] <== uid[i];
        for (var a = 0; a < K; a++) {
            leaf[i].in[2 + a] <== equity[i][a];
            leaf[i].in[2 + K + a] <== debt[i][a];
        }
    }

    // binary Merkle tree over the leaves: level l has B >> l nodes
    component node[B];  // node[1..B): heap order, node[1] is the root
    signal level_hash[2*B];
    for (var i = 0; i < B; i++) {
        level_hash[B + i] <== leaf[i].out;
    }
    for (var n = B - 1; n >= 1; n--) {
        node[n] = Poseidon(2);
        node[n].inputs[0] <== level_hash[2*n];
        node[n].inputs[1] <== level_hash[2*n + 1];
        level_hash[n] <== node[n].out;
    }
    batch_root <== level_hash[1];

    // per-asset sums and the accumulators
    signal totals_next[2*K];
    for (var a = 0; a < K; a++) {
        var se = 0;
        var sd = 0;
        for (var i = 0; i < B; i++) {
            se += equity[i][a];
            sd += debt[i][a];
        }
        totals_next[a] <== totals_prev[a] + se;
        totals_next[K + a] <== totals_prev[K + a] + sd;
    }

    component chain = Poseidon(2);
    chain.inputs[0] <== chain_prev;
    chain.inputs[1] <== batch_root;

    component accPrev = HashWide(3 + 2*K);
    component accNext = HashWide(3 + 2*K);
    accPrev.in[0] <== 2;
    accNext.in[0] <== 2;
    accPrev.in[1] <== chain_prev;
    accNext.in[1] <== chain.out;
    for (var c = 0; c < 2*K; c++) {
        accPrev.in[2 + c] <== totals_prev[c];
        accNext.in[2 + c] <== totals_next[c];
    }
    accPrev.in[2 + 2*K] <== salt_prev;
    accNext.in[2 + 2*K] <== salt_next;
    acc_prev <== accPrev.out;
    acc_next <== accNext.out;
}
