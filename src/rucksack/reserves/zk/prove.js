// Node side of the tier (b) prover: one long-lived process per prover worker (prover.py).
//
// usage: node prove.js NODE_MODULES_DIR MODE WASM ZKEY
//   MODE "prove":   snarkjs Groth16 (witness + proof), answers {"index", "proof", "public", "ms", "cpu_ms"}
//   MODE "witness": the witness only, written to the request's "wtns" path (for a native prover),
//                   answers {"index", "wtns", "ms", "cpu_ms"}
// stdin: one request per line, {"index": i, "input": circuit input object, "wtns": path (witness mode)}
// stdout: one answer per request, in order; {"index", "error"} when the circuit has no witness for
// the input (the process goes on with the next request). The circuit's wasm and the zkey are read
// once, so a request costs only the witness and the proof.
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");

async function main() {
  const [modules, mode, wasmPath, zkeyPath] = process.argv.slice(2);
  const snarkjs = require(path.resolve(modules, "snarkjs"));
  const wasm = new Uint8Array(fs.readFileSync(wasmPath));
  const zkey = mode === "prove" ? new Uint8Array(fs.readFileSync(zkeyPath)) : null;
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const req = JSON.parse(line);
    const started = Date.now();
    const cpu = process.cpuUsage();
    let answer;
    try {
      const wtns = { type: "mem" };
      await snarkjs.wtns.calculate(req.input, wasm, wtns);
      if (mode === "prove") {
        const out = await snarkjs.groth16.prove(zkey, wtns.data);
        answer = { index: req.index, proof: out.proof, public: out.publicSignals };
      } else {
        fs.writeFileSync(req.wtns, wtns.data);
        answer = { index: req.index, wtns: req.wtns };
      }
    } catch (err) {
      answer = { index: req.index, error: String(err && err.message ? err.message : err) };
    }
    answer.ms = Date.now() - started;
    const used = process.cpuUsage(cpu);
    answer.cpu_ms = Math.round((used.user + used.system) / 1000); // this process, its threads included
    process.stdout.write(JSON.stringify(answer) + "\n");
  }
  process.exit(0);
}

main().catch((err) => {
  process.stdout.write(JSON.stringify({ index: -1, error: String(err && err.stack ? err.stack : err) }) + "\n");
  process.exit(1);
});
