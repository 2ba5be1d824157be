"""``rucksack devnet``: serve every chain's JSON-RPC on loopback until Ctrl-C.

Prints one JSON object (the same as ``GET /``: each chain's URL, chain id, token, faucet) on
stdout once every chain is up, then serves. Progress and errors go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from typing import Any

from rucksack.chains.devnet import DEFAULT_PORT


def add_parser(sub: Any) -> None:
    p = sub.add_parser("devnet", help="local Solana/Eclipse (LiteSVM) and EVM (py-evm) JSON-RPC on loopback")
    p.add_argument("--host", default="127.0.0.1", help="loopback address only")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--chains", default=None, help="comma-separated chain keys (default: all seven)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rucksack.chains.devnet.server import Devnet  # heavy (VMs, web3 stack): only when run

    chains = [c.strip() for c in args.chains.split(",") if c.strip()] if args.chains else None
    try:
        devnet = Devnet(args.host, args.port, chains)
    except (ValueError, KeyError) as exc:
        sys.stderr.write(f"rucksack devnet: {exc}\n")
        return 2
    sys.stderr.write("rucksack devnet: starting chains...\n")
    try:
        devnet.start()
    except OSError as exc:
        sys.stderr.write(f"rucksack devnet: cannot listen on {args.host}:{args.port}: {exc}\n")
        return 2
    sys.stdout.write(json.dumps(devnet.describe()) + "\n")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the devnet
        stop.wait()
    devnet.stop()
    return 0
