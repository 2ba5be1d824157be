"""``rucksack`` command line: serve, replay, bench.

Every command that reports prints one JSON object on stdout (progress and errors go to stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _print(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, sort_keys=False) + "\n")
    sys.stdout.flush()


def cmd_replay(args: argparse.Namespace) -> int:
    from rucksack.exchange.core.invariants import check_invariants, conservation_report
    from rucksack.exchange.core.state import state_hash
    from rucksack.exchange.sequencer.datadir import recover
    from rucksack.exchange.sequencer.journal import JournalCorrupt

    try:
        rec = recover(Path(args.data_dir))
    except (JournalCorrupt, FileNotFoundError, ValueError) as exc:
        sys.stderr.write(f"rucksack replay: {exc}\n")
        return 2
    problems = check_invariants(rec.engine)
    _print(
        {
            "seq": rec.engine.last_seq,
            "state_hash": state_hash(rec.engine),
            "snapshot_seq": rec.snapshot_seq,
            "replayed": rec.replayed,
            "torn_tail_bytes": rec.torn_bytes,
            "skipped_snapshots": rec.skipped_snapshots,
            "open_orders": len(rec.engine.orders),
            "trades": rec.engine.next_trade_id - 1,
            "invariants": problems if problems else "ok",
            "conservation": conservation_report(rec.engine),
        }
    )
    return 0 if not problems else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from rucksack.bench.runners import bench_engine, bench_journal

    if args.what == "engine":
        _print(
            bench_engine(
                args.workload,
                args.commands,
                args.seed,
                Path(args.data_dir) if args.data_dir else None,
                snapshot_every=args.snapshot_every,
                accounts=args.accounts,
            )
        )
    else:
        _print(bench_journal(args.records, Path(args.dir) if args.dir else None, fsync=not args.no_fsync))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from rucksack.exchange.demo import serve_core

    return serve_core(Path(args.data_dir), seed=args.seed, duration=args.duration)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rucksack", description="Rucksack exchange and wallet")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the exchange core on a data directory")
    serve.add_argument("--data-dir", default="data")
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--duration", type=float, default=0.0, help="stop after N seconds (0 = until Ctrl-C)")
    serve.set_defaults(func=cmd_serve)

    replay = sub.add_parser("replay", help="rebuild state from snapshot + journal and print its hash")
    replay.add_argument("--data-dir", required=True)
    replay.set_defaults(func=cmd_replay)

    bench = sub.add_parser("bench", help="benchmarks (print one JSON line)")
    bsub = bench.add_subparsers(dest="what", required=True)
    eng = bsub.add_parser("engine", help="seeded in-process engine workload")
    eng.add_argument("--workload", default="spot")
    eng.add_argument("--commands", type=int, default=200_000)
    eng.add_argument("--seed", type=int, default=1)
    eng.add_argument("--accounts", type=int, default=1000)
    eng.add_argument("--data-dir", default=None, help="also journal into this (empty) data directory")
    eng.add_argument("--snapshot-every", type=int, default=0, help="with --data-dir: snapshot every N commands")
    eng.set_defaults(func=cmd_bench)
    jour = bsub.add_parser("journal", help="acknowledged durable commands per second")
    jour.add_argument("--records", type=int, default=500_000)
    jour.add_argument("--dir", default=None, help="directory for the temporary journal")
    jour.add_argument("--no-fsync", action="store_true", help="skip fdatasync (CPU cost only)")
    jour.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
