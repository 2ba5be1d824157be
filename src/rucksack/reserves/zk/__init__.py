"""Proof of reserves tier (b): zero-knowledge solvency with circom + snarkjs Groth16 (docs/reserves.md).

Module map:

- ``circuits/por_batch.circom``  the batch circuit (range checks, leaf hashes, haircut collateral
  >= debt, per-asset sums, chained salted accumulators)
- ``poseidon``   circomlib's Poseidon in Python (stdlib; constants vendored in ``poseidon_constants.json``)
- ``statement``  shapes (per asset count), price coefficients and every hash layout (``hash_wide``),
                 shared by prover and verifier
- ``groth16``    Groth16 verification of snarkjs proofs on py_ecc
- ``toolchain``  Node + npm packages + ptau; compiles and sets up the circuit, cached by its hash
- ``prove.js``   the Node side of a prover worker: witness (and, for snarkjs, proof) per request
- ``engines``    Groth16 engines (snarkjs, or arkworks via the optional groth16py), parallel
                 workers, resumable work directory, the native all-batch check
- ``prover``     liabilities -> signed ``zk.json`` + private per-account zk inclusion proofs
- ``bench``      ``python -m rucksack.reserves.zk.bench``: throughput and CPU cost per account
- ``verify``     the standalone verifier (stdlib + PyNaCl + py_ecc), tier (a) and (b)

Imports nothing, so ``import rucksack.reserves.zk.verify`` stays light.
"""
