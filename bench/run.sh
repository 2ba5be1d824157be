#!/usr/bin/env bash
# Run every benchmark with its fixed seed and print one JSON line each.
# `make bench` runs this against the mypyc-compiled core (PYTHONPATH=build/native);
# for the pure-Python core run: PYTHONPATH=src bash bench/run.sh
# Record the figures and the machine in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
COMMANDS="${COMMANDS:-500000}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# spot and perp, each with the naive reference book on the same commands (vs_naive = engine / naive)
"$PY" -m rucksack bench engine --workload spot --commands "$COMMANDS" --seed 1 --rounds 3
"$PY" -m rucksack bench engine --workload perp --commands "$COMMANDS" --seed 1 --rounds 3
"$PY" -m rucksack bench engine --workload spot --commands "$COMMANDS" --seed 1 --data-dir "$tmp/journaled"
"$PY" -m rucksack replay --data-dir "$tmp/journaled" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"bench": "replay", "seq": d["seq"], "state_hash": d["state_hash"]}))'
"$PY" -m rucksack bench journal --records 1000000 --dir "$tmp"
# the zk tool chain finds build/zk and ../shared/zk from src/; the mirror (build/native) is elsewhere
export RUCKSACK_ZK_BUILD="${RUCKSACK_ZK_BUILD:-$PWD/build/zk}"
if [ -z "${RUCKSACK_ZK_PTAU:-}" ] && [ -f ../shared/zk/pot14_final.ptau ]; then
  export RUCKSACK_ZK_PTAU="$PWD/../shared/zk/pot14_final.ptau"
fi
# proof of reserves tier (b): Groth16 throughput at the default venue's 7 assets, both provers
# (first run builds the circuit, ~1.5 min, cached in build/zk); the target is 50 accounts/s on 2 cores
"$PY" -m rucksack.reserves.zk.bench --accounts "${ZK_ACCOUNTS:-128}" --assets 7 --prover arkworks
"$PY" -m rucksack.reserves.zk.bench --accounts "${ZK_ACCOUNTS:-128}" --assets 7 --prover snarkjs
