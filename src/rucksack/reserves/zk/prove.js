// Groth16 prover for proof of reserves tier (b): proves every batch of a job with one snarkjs load.
//
// usage: node prove.js NODE_MODULES_DIR < job.json
//   job = {"wasm": path, "zkey": path, "inputs": [circuit input object, ...]}
// stdout: one JSON line per batch, in order: {"index", "proof", "public", "ms"}
//         or, on the first failure, {"index", "error"} and exit status 1.
// Progress is the caller's business (it reads the lines as they come).
"use strict";

const path = require("path");

async function main() {
  const snarkjs = require(path.resolve(process.argv[2], "snarkjs"));
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const job = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  for (let i = 0; i < job.inputs.length; i++) {
    const started = Date.now();
    let out;
    try {
      out = await snarkjs.groth16.fullProve(job.inputs[i], job.wasm, job.zkey);
    } catch (err) {
      process.stdout.write(JSON.stringify({ index: i, error: String(err && err.message ? err.message : err) }) + "\n");
      process.exit(1);
    }
    const line = { index: i, proof: out.proof, public: out.publicSignals, ms: Date.now() - started };
    process.stdout.write(JSON.stringify(line) + "\n");
  }
  process.exit(0);
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ index: -1, error: String(err && err.stack ? err.stack : err) }) + "\n");
  process.exit(1);
});
