"""Tier (b) throughput benchmark: ``python -m rucksack.reserves.zk.bench`` prints one JSON line.

Proves a synthetic liabilities snapshot (``--accounts`` accounts x ``--assets`` assets, random
balances from ``--seed``, every account covered) with :func:`~rucksack.reserves.zk.prover.build_zk`
exactly as ``rucksack reserves snapshot --zk`` does, after building (or finding) the cached circuit,
so the figure is the steady state of a daily job. Reported (docs/performance.md):

- ``accounts_per_s``: wall-clock proving throughput on this machine as it is (other load included);
- ``accounts_per_cpu_s`` and ``projected_accounts_per_s`` (= that x ``--cores``): the CPU cost of
  the job (the Node processes and the prover workers, measured by each process, plus this
  process: the Python hashing, JSON and signing), hence what the cores would give when nothing
  else runs; the figure to hold against the 50 accounts/s target;
- the split: ``witness_ms_mean`` / ``witness_cpu_s`` (circuit witness, Node; arkworks only, where
  it is a separate step), ``batch_ms_mean`` (witness + proof, wall), ``prove_cpu_s`` (both, CPU),
  ``python_glue_ms_per_batch`` (the Python Poseidon hashing of leaves, tree, chain and accumulator,
  which overlaps the proving), and ``hours_for_475k`` at the projected rate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

from nacl.signing import SigningKey

from rucksack.reserves.liabilities import AssetInfo, LiabilityRow, LiabilitySnapshot
from rucksack.reserves.zk import engines
from rucksack.reserves.zk import statement as st
from rucksack.reserves.zk.prover import build_zk, prepare_batches
from rucksack.reserves.zk.toolchain import ensure_artifacts

TARGET = 50  # accounts per second on 2 cores (issue 21)
BACKPACK_ACCOUNTS = 475_000


def synthetic(accounts: int, assets: int, seed: int) -> LiabilitySnapshot:
    rng = random.Random(seed)
    infos = [AssetInfo(f"A{i}", 6 + i % 4, f"{1 + i}.5", "0.9") for i in range(assets)]
    rows = []
    for n in range(accounts):
        equity = [rng.randrange(10**12) if rng.random() < 0.6 else 0 for _ in range(assets)]
        equity[0] += 10**9  # some collateral in every account
        debt = [0] * assets
        if n % 5 == 0:
            debt[0] = rng.randrange(10**8)  # borrowed against its own collateral: covered
        rows.append(LiabilityRow(1_000_000 + n, equity, debt))
    return LiabilitySnapshot(seq=1, ts_us=1_760_000_000_000_000, assets=infos, rows=rows, custody=[])


def _glue_ms(snap: LiabilitySnapshot) -> float:
    """The Python hashing of one batch: leaves, tree, chain step and accumulator."""
    shape, _, _, _, batches = prepare_batches(snap, bytes(32), bytes(16))
    batch = batches[0]
    started = time.perf_counter()
    root = st.merkle_root([st.leaf(a.uid, a.equity, a.debt) for a in batch])
    st.accumulator(st.chain_step(1, root), [0] * (2 * shape.assets), 1)
    return round((time.perf_counter() - started) * 1000, 1)


def run(accounts: int, assets: int, prover: str, workers: int | None, cores: int, seed: int) -> dict[str, object]:
    snap = synthetic(accounts, assets, seed)
    shape = st.shape_for(assets)
    artifacts = ensure_artifacts(shape, lambda m: print(m, file=sys.stderr, flush=True))
    engine = engines.choose(prover)
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    pub = build_zk(snap, bytes(32), SigningKey(bytes(32)), bytes(16), prover=engine, workers=workers)
    wall, main_cpu = time.perf_counter() - started, time.process_time() - cpu
    t = pub.timings
    proved = len(pub.document["batches"]) * shape.batch
    total_cpu = float(t.get("prove_cpu_s", 0.0)) + main_cpu
    per_cpu = proved / total_cpu if total_cpu else 0.0
    projected = per_cpu * cores
    return {
        "bench": "zk",
        "prover": engines.describe(engine),
        "workers": workers or engines.default_workers(engine),
        "accounts": accounts,
        "assets": assets,
        "batch": shape.batch,
        "constraints": artifacts.info["constraints"],
        "wall_s": round(wall, 2),
        "accounts_per_s": round(accounts / wall, 2),
        "prove_cpu_s": t.get("prove_cpu_s"),
        "witness_cpu_s": t.get("witness_cpu_s"),
        "python_cpu_s": round(main_cpu, 2),
        "accounts_per_cpu_s": round(per_cpu, 2),
        "cores": cores,
        "projected_accounts_per_s": round(projected, 1),
        "target_accounts_per_s": TARGET,
        "meets_target": projected >= TARGET,
        "hours_for_475k": round(BACKPACK_ACCOUNTS / projected / 3600, 1) if projected else None,
        "batch_ms_mean": t.get("batch_ms_mean"),
        "witness_ms_mean": t.get("witness_ms_mean"),
        "python_glue_ms_per_batch": _glue_ms(snap),
        "load_average_1m": round(load, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rucksack.reserves.zk.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=128)
    parser.add_argument("--assets", type=int, default=7, help="asset columns (the default venue has 7)")
    parser.add_argument("--prover", choices=("auto", *engines.ENGINES), default="auto")
    parser.add_argument("--workers", type=int, help="prover processes (default: one per core; snarkjs: 1)")
    parser.add_argument("--cores", type=int, default=2, help="cores to project the CPU cost onto (the target's 2)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    result = run(args.accounts, args.assets, args.prover, args.workers, args.cores, args.seed)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
