"""``rucksack`` command line: serve, sandbox, replay, bench here; devnet, reserves and wallet from
their own packages, imported only when one of them (or help) is asked for.

Every command that reports prints one JSON object on stdout (progress and errors go to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from rucksack.endpoints import DEFAULT_EXCHANGE, EXCHANGE_HELP


def _print(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, sort_keys=False) + "\n")
    sys.stdout.flush()


def cmd_verify_exchange(args: argparse.Namespace) -> int:
    import httpx

    from rucksack.reserves.exchange_check import verify_exchange

    try:
        report = verify_exchange(args.url, args.public_key)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        sys.stderr.write(f"rucksack verify-exchange: cannot read {args.url}: {exc}\n")
        return 2
    head = report["head"]
    sys.stderr.write(
        f"{report['records']} signed records"
        + (f", head seq {head['seq']} (state {head['state_hash'][:16]}...)" if head else "")
        + (": chain OK\n" if report["ok"] else ": FAILED\n")
    )
    for line in report["problems"]:
        sys.stderr.write(f"FAIL {line}\n")
    for line in report["warnings"]:
        sys.stderr.write(f"warning: {line}\n")
    _print(report)
    return 0 if report["ok"] else 1


def cmd_audit(args: argparse.Namespace) -> int:
    from rucksack.exchange.audit import audit
    from rucksack.exchange.sequencer.journal import JournalCorrupt

    try:
        report = audit(_sandbox_data_dir(args.data_dir))
    except (JournalCorrupt, FileNotFoundError, ValueError) as exc:
        sys.stderr.write(f"rucksack audit: {exc}\n")
        return 2
    for line in report["problems"]:
        sys.stderr.write(f"FAIL {line}\n")
    _print(report)
    return 0 if report["ok"] else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from rucksack.exchange.core.invariants import check_invariants, conservation_report
    from rucksack.exchange.core.state import state_hash
    from rucksack.exchange.sequencer.datadir import recover
    from rucksack.exchange.sequencer.journal import JournalCorrupt
    from rucksack.progress import progress_bar

    bar = progress_bar("replay", unit="cmd")  # on a terminal only
    try:
        rec = recover(Path(args.data_dir), progress=bar.update)
    except (JournalCorrupt, FileNotFoundError, ValueError) as exc:
        bar.close()
        sys.stderr.write(f"rucksack replay: {exc}\n")
        return 2
    bar.close()
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


def cmd_surveil(args: argparse.Namespace) -> int:
    """Every detector over the whole journal (read-only; the server may be running): the same
    alerts, with the same ids and resolutions, as the live monitor shows (docs/surveillance.md)."""
    from rucksack.exchange.core import queries
    from rucksack.exchange.sequencer.datadir import read_spec, recover
    from rucksack.exchange.sequencer.journal import JournalCorrupt
    from rucksack.exchange.surveillance import Surveillance, thresholds_from_toml
    from rucksack.exchange.surveillance.config import ThresholdError
    from rucksack.progress import progress_bar

    data_dir = Path(args.data_dir)
    bar = progress_bar("surveil", unit="cmd")  # on a terminal only
    try:
        spec = read_spec(data_dir)
        monitor = Surveillance(spec, thresholds_from_toml((data_dir / "config.toml").read_text("utf-8")))
        rec = recover(data_dir, spec=spec, events_after=0, on_events=monitor.feed, progress=bar.update)
    except (JournalCorrupt, FileNotFoundError, ValueError, ThresholdError) as exc:
        bar.close()
        sys.stderr.write(f"rucksack surveil: {exc}\n")
        return 2
    bar.close()
    alerts = monitor.alert_list(args.status, args.typology)
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert["typology"]] = counts.get(alert["typology"], 0) + 1
    statuses = {m.symbol: queries.market_status(rec.engine, m.symbol)[0] for m in spec.markets}
    _print({"seq": rec.engine.last_seq, "marketStatus": statuses, "counts": counts, "alerts": alerts})
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from rucksack.bench.runners import bench_engine, bench_journal

    if args.what == "api":
        from rucksack.bench.api_bench import bench_api

        gateways = [int(g) for g in args.gateways.split(",")]
        _print(bench_api(args.orders, [int(c) for c in args.connections.split(",")], gateways, args.batch))
        return 0
    if args.what == "engine":
        _print(
            bench_engine(
                args.workload,
                args.commands,
                args.seed,
                Path(args.data_dir) if args.data_dir else None,
                snapshot_every=args.snapshot_every,
                accounts=args.accounts,
                rounds=args.rounds,
            )
        )
    else:
        _print(bench_journal(args.records, Path(args.dir) if args.dir else None, fsync=not args.no_fsync))
    return 0


def _reserves_liabilities(data_dir: Path) -> Any:
    from rucksack.exchange.reserves_export import cli_liabilities

    return cli_liabilities(data_dir)


def _reserves_key_path(data_dir: Path) -> Path:
    from rucksack.exchange.reserves_export import signing_key_path

    return signing_key_path(data_dir)


def _reserves_proof(data_dir: Path, account: int, seq: int | None) -> bytes:
    from rucksack.exchange.reserves_export import cli_proof

    return cli_proof(data_dir, account, seq)


def cmd_cluster(args: argparse.Namespace) -> int:
    import signal
    import time

    from rucksack.exchange.replica.cluster import Cluster

    cluster = Cluster(Path(args.dir), base_port=args.base_port).start()
    _print({"cluster": cluster.url, "dir": str(Path(args.dir).resolve())})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(n.proc is not None and n.proc.poll() is None for n in cluster.nodes):
            time.sleep(0.5)
        sys.stderr.write("rucksack cluster: a nats-server exited; stopping the others\n")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


def cmd_chaos(args: argparse.Namespace) -> int:
    from rucksack.exchange.replica.chaos import run_failover

    workdir = Path(args.dir) if args.dir else None
    summary = run_failover(
        args.trials, seed=args.seed, workdir=workdir, out=_print, takeover_target=args.takeover_target
    )
    return 0 if summary["ok"] else 1


def cmd_gateway(args: argparse.Namespace) -> int:
    from rucksack.exchange.native import use_compiled

    native = args.native or os.environ.get("RUCKSACK_NATIVE") or None
    sys.stderr.write(f"rucksack: {use_compiled(Path(native) if native else None)}\n")
    from rucksack.exchange.gateway.discovery import main

    return main(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from rucksack.exchange.native import use_compiled

    native = args.native or os.environ.get("RUCKSACK_NATIVE") or None
    # before the server's imports load the core: which one runs is decided here, and said once
    sys.stderr.write(f"rucksack: {use_compiled(Path(native) if native else None)}\n")
    if native:  # the gateway processes load the same core
        os.environ["RUCKSACK_NATIVE"] = native
    from rucksack.exchange.sequencer.journal import JournalCorrupt
    from rucksack.exchange.sequencer.writer_lock import DataDirLocked
    from rucksack.exchange.server import serve

    try:
        return serve(
            Path(args.data_dir),
            args.host,
            args.port,
            feed=args.feed,
            makers=not args.no_makers,
            sandbox=not args.production,
            seed=args.seed,
            fsync=not args.unsafe_no_fsync,
            chain_rpc=args.chain_rpc,
            confirmations=args.confirmations,
            chain_poll=args.chain_poll,
            sweep_every=args.sweep_every,
            snapshot_every=args.snapshot_every,
            operator_key=args.operator_key,
            store=args.store,
            journal=args.journal,
            standby=args.standby,
            gateways=(os.cpu_count() or 1) if args.gateways is None else args.gateways,
            link=args.link,
            nft_vip=args.nft_vip,
            nft_check_every=args.nft_check_every,
            reserves_zk=args.reserves_zk,
            reserves_zk_workers=args.reserves_zk_workers,
        )
    except DataDirLocked as exc:  # a second writer: refused at once, naming the holder
        sys.stderr.write(f"rucksack serve: {exc}\n")
        return 3
    except JournalCorrupt as exc:  # damage or a second history: recovery names where, serves nothing
        sys.stderr.write(f"rucksack serve: {exc}\n")
        return 2


def _sandbox_data_dir(given: str | None) -> Path:
    """The server's data dir for the sandbox commands: the one given, else ``./data`` when it is a
    server's, else the checkout's ``data`` (where ``make run`` keeps it), so the README's commands
    work from any folder."""
    if given is not None:
        return Path(given)
    here = Path("data")
    checkout = Path(__file__).resolve().parents[2] / "data"
    return here if (here / "admin.token").exists() or not checkout.is_dir() else checkout


def _admin_post(url: str, data_dir: str | None, path: str, body: dict[str, Any]) -> dict[str, Any]:
    import urllib.error
    import urllib.request

    from rucksack.exchange.service import admin_token_path

    token_file = admin_token_path(_sandbox_data_dir(data_dir))
    if not token_file.exists():
        raise SystemExit(f"no admin token at {token_file}: is the server running in sandbox mode on that data dir?")
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Admin-Token": token_file.read_text().strip()},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as err:
        raise SystemExit(f"rucksack sandbox: {err.code} {err.read().decode(errors='replace')}") from err
    except urllib.error.URLError as err:
        raise SystemExit(f"rucksack sandbox: cannot reach {url}: {err.reason}") from err


def cmd_sandbox_account(args: argparse.Namespace) -> int:
    from rucksack.exchange.api.auth import new_keypair

    fund: dict[str, str] = {}
    for item in args.fund:
        asset, sep, qty = item.partition("=")
        if not sep:
            raise SystemExit(f"--fund takes ASSET=QUANTITY, got {item!r}")
        fund[asset] = qty
    api_key, api_secret = new_keypair()  # the secret never leaves this process
    body: dict[str, Any] = {"publicKey": api_key, "fund": fund, "label": args.label, "autoLend": not args.no_auto_lend}
    if args.region:  # sign up as a resident of a region (docs/compliance.md)
        body.update(region=args.region, level=args.level)
    if args.referral_code:  # tied to the code's account for good (docs/points.md)
        body.update(referralCode=args.referral_code)
    created = _admin_post(args.url, args.data_dir, "/api/v1/sandbox/accounts", body)
    out = {"apiKey": api_key, "apiSecret": api_secret, "accountId": created["accountId"]}
    _print({**out, **({"region": created["region"], "level": created["level"]} if args.region else {})})
    return 0


def cmd_sandbox_compliance(args: argparse.Namespace) -> int:
    """GET /api/v1/account/compliance signed with the account's key: which products are open and why."""
    import time
    import urllib.error
    import urllib.request

    from rucksack.exchange.api.auth import sign

    ts, window = int(time.time() * 1000), 5000
    message = f"instruction=accountComplianceQuery&timestamp={ts}&window={window}".encode()
    headers = {
        "X-API-Key": args.api_key,
        "X-Signature": sign(args.api_secret, message),
        "X-Timestamp": str(ts),
        "X-Window": str(window),
    }
    request = urllib.request.Request(args.url.rstrip("/") + "/api/v1/account/compliance", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            _print(json.loads(response.read()))
            return 0
    except urllib.error.HTTPError as err:
        raise SystemExit(f"rucksack sandbox: {err.code} {err.read().decode(errors='replace')}") from err
    except urllib.error.URLError as err:
        raise SystemExit(f"rucksack sandbox: cannot reach {args.url}: {err.reason}") from err


DURATION_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def cmd_sandbox_clock(args: argparse.Namespace) -> int:
    """``POST /api/v1/sandbox/clock``: ``--advance 1d`` (s, m, h, d or bare ms) or ``--next-day``."""
    if args.next_day:
        now = int(_admin_post(args.url, args.data_dir, "/api/v1/sandbox/clock", {"advanceMs": 0})["now"])
        advance = DURATION_MS["d"] - now % DURATION_MS["d"] + 1000
    else:
        text = args.advance.strip()
        unit = DURATION_MS.get(text[-1:], 0)
        digits = text[:-1] if unit else text
        if not digits.isdigit():
            raise SystemExit("rucksack sandbox clock: --advance is a whole number with s, m, h or d (or milliseconds)")
        advance = int(digits) * (unit or 1)
    _print(_admin_post(args.url, args.data_dir, "/api/v1/sandbox/clock", {"advanceMs": advance}))
    return 0


def cmd_sandbox_price(args: argparse.Namespace) -> int:
    _print(_admin_post(args.url, args.data_dir, "/api/v1/sandbox/price", {"symbol": args.symbol, "price": args.price}))
    return 0


def cmd_sandbox_premarket_list(args: argparse.Namespace) -> int:
    """List a pre-market's token now (docs/premarket.md): its spot market opens and every position
    settles at the spot TWAP once the window has passed."""
    body = {"symbol": args.symbol, "windowSeconds": args.window_seconds}
    _print(_admin_post(args.url, args.data_dir, "/api/v1/sandbox/premarket/list", body))
    return 0


def cmd_sandbox_reserves(args: argparse.Namespace) -> int:
    """Publish a proof-of-reserves snapshot now (the server also takes one at start and daily), so
    an account opened since the last one can fetch and verify its inclusion proof."""
    body = {"zk": True} if args.zk else {}
    _print(_admin_post(args.url, args.data_dir, "/api/v1/sandbox/reserves/snapshot", body))
    return 0


OPERATOR_ACTIONS = {
    "price": ("/api/v1/operator/price", "operatorIndexPrice"),
    "account": ("/api/v1/operator/accounts", "operatorAccountCreate"),
    "backstop": ("/api/v1/operator/backstop", "operatorBackstop"),
    "premarket-list": ("/api/v1/operator/premarket/list", "operatorPreMarketList"),
    "reserves-snapshot": ("/api/v1/operator/reserves/snapshot", "operatorReservesSnapshot"),
    # the operator console (docs/surveillance.md)
    "market": ("/api/v1/operator/market/status", "operatorMarketStatus"),
    "alerts": ("/api/v1/operator/alerts", "operatorAlertQueryAll"),
    "resolve": ("/api/v1/operator/alert/resolve", "operatorAlertResolve"),
    "identity": ("/api/v1/operator/identity", "operatorIdentitySet"),
    "key": ("/api/v1/operator/keys", "operatorKeySet"),
    "review": ("/api/v1/operator/withdrawals/review", "operatorWithdrawalReview"),
    "audit": ("/api/v1/operator/audit/export", "operatorAuditExport"),
    "vip": ("/api/v1/operator/vipLevel", "operatorVipLevelSet"),  # fee tiers (core/tiers)
}
OPERATOR_QUERIES = {"alerts", "audit"}  # GETs: the fields are signed as the query


def cmd_operator_keygen(args: argparse.Namespace) -> int:
    from rucksack.exchange.api.auth import new_keypair

    public, secret = new_keypair()
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never overwrites a key
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")
    _print({"operatorKey": public, "secretFile": args.out})
    return 0


def cmd_operator(args: argparse.Namespace) -> int:
    """Sign an operator action like a Backpack client (instruction, sorted body, timestamp, window)."""
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    from rucksack.exchange.api.auth import sign

    path, instruction = OPERATOR_ACTIONS[args.what]
    body: dict[str, Any] = {}
    if args.what == "price":
        body = {"symbol": args.symbol, "price": args.price}
    elif args.what == "account":
        body = {"publicKey": args.public_key, "label": args.label}
    elif args.what == "backstop":
        body = {"accountId": args.account, "enabled": not args.disable}
    elif args.what == "reserves-snapshot" and args.zk:
        body = {"zk": True}
    elif args.what == "premarket-list":
        body = {"symbol": args.symbol, "windowSeconds": args.window_seconds}
    elif args.what == "market":
        body = {"symbol": args.symbol, "status": args.status, "cancelOrders": args.cancel_orders, "reason": args.reason}
    elif args.what == "alerts":
        body = {k: v for k, v in (("status", args.status), ("typology", args.typology)) if v}
    elif args.what == "resolve":
        body = {"id": args.id, "resolution": args.resolution, "note": args.note}
    elif args.what == "identity":
        body = {"accountId": args.account, **({"level": args.level} if args.level else {})}
        body.update({"region": args.region} if args.region else {})
    elif args.what == "key":
        body = {"publicKey": args.public_key, "roles": args.role}
    elif args.what == "review":
        body = {"id": args.id, "approve": not args.reject}
    elif args.what == "vip":
        body = {"accountId": args.account, "vipLevel": args.level}
    secret = Path(args.key_file).read_text(encoding="utf-8").strip()
    ts, window = int(time.time() * 1000), 5000

    def render(v: Any) -> str:
        if isinstance(v, bool):
            return str(v).lower()
        return json.dumps(v, separators=(",", ":")) if isinstance(v, list) else str(v)

    fields = "".join(f"&{k}={render(v)}" for k, v in sorted(body.items()))
    message = f"instruction={instruction}{fields}&timestamp={ts}&window={window}".encode()
    import base64

    import nacl.signing

    public = base64.b64encode(bytes(nacl.signing.SigningKey(base64.b64decode(secret)[:32]).verify_key)).decode()
    headers = {
        "Content-Type": "application/json",
        "X-API-Key": public,
        "X-Signature": sign(secret, message),
        "X-Timestamp": str(ts),
        "X-Window": str(window),
    }
    if args.what in OPERATOR_QUERIES:
        url = args.url.rstrip("/") + path + ("?" + urllib.parse.urlencode(sorted(body.items())) if body else "")
        request = urllib.request.Request(url, None, headers, method="GET")
    else:
        request = urllib.request.Request(args.url.rstrip("/") + path, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            _print(json.loads(response.read() or b"{}"))
            return 0
    except urllib.error.HTTPError as err:
        sys.stderr.write(f"rucksack operator: {err.code} {err.read().decode(errors='replace')}\n")
    except urllib.error.URLError as err:
        sys.stderr.write(f"rucksack operator: cannot reach {args.url}: {err.reason}\n")
    return 1


# the commands defined here; running one of them builds a parser without the others' modules, so
# ``rucksack serve`` never imports the wallet's stack (whose py_ecc raises the recursion limit)
OWN_COMMANDS = (
    "serve",
    "gateway",
    "sandbox",
    "operator",
    "replay",
    "surveil",
    "bench",
    "vault",
    "verify-exchange",
    "audit",
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (``command`` one of ``OWN_COMMANDS``) just this module's commands."""
    parser = argparse.ArgumentParser(prog="rucksack", description="Rucksack exchange and wallet")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the exchange with Backpack's API")
    serve.add_argument("--data-dir", default="data")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--feed",
        default=None,
        help="index source: sim (seeded random walk; the sandbox default), manual (the production default: "
        "prices set by `rucksack operator price`), or csv:PATH",
    )
    serve.add_argument("--no-makers", action="store_true", help="start without the demo market makers")
    serve.add_argument(
        "--production",
        action="store_true",
        help="a real venue: no sandbox endpoints or admin token, no demo makers, no grants, a real index source",
    )
    serve.add_argument(
        "--operator-key",
        default=os.environ.get("RUCKSACK_OPERATOR_KEY"),
        metavar="PUBKEY|FILE",
        help="the operator's ED25519 public key (base64, or a file holding it; default $RUCKSACK_OPERATOR_KEY): "
        "signs operator actions (`rucksack operator ...`)",
    )
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument(
        "--gateways",
        type=int,
        default=None,
        help="gateway processes serving the API in front of the sequencer process (default: the number of "
        "cores; 0: one process does everything)",
    )
    serve.add_argument(
        "--unsafe-no-fsync",
        action="store_true",
        help="benchmarks only: acknowledge without fdatasync (a power cut can lose acked orders)",
    )
    serve.add_argument(
        "--chain-rpc",
        action="append",
        default=[],
        metavar="URL|CHAIN=URL",
        help="watch deposits and send withdrawals: a devnet root (chain k at URL/k) or one chain's node",
    )
    serve.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="read models (order history, fills, trades, capital, positions): postgresql://USER@HOST:PORT/DB, "
        "or sqlite:PATH (default: read.sqlite in the data dir)",
    )
    serve.add_argument(
        "--nft-vip",
        default=None,
        metavar="CHAIN:ADDRESS",
        help="the ERC-721 collection whose holders get the NFT VIP fee level (default in a sandbox with an EVM "
        "devnet: the devnet's own collection on ethereum)",
    )
    serve.add_argument(
        "--nft-check-every", type=float, default=60.0, help="seconds between re-checks of NFT VIP holders on chain"
    )
    serve.add_argument(
        "--reserves-zk",
        action="store_true",
        help="the daily reserves snapshot also proves its zero-knowledge tier, in the background (docs/reserves.md)",
    )
    serve.add_argument(
        "--reserves-zk-workers",
        type=int,
        default=1,
        help="prover processes for the zk tier (default 1: a core stays free)",
    )
    serve.add_argument("--confirmations", type=int, default=1, help="blocks/slots before a deposit is credited")
    serve.add_argument("--chain-poll", type=float, default=1.0, help="seconds between chain polls")
    serve.add_argument("--sweep-every", type=int, default=10, help="chain polls between deposit sweeps (0: never)")
    serve.add_argument(
        "--snapshot-every",
        type=int,
        default=None,
        metavar="N",
        help="snapshot the state every N journaled commands (default 100000), so a crash replays at most "
        "about N on restart (0: at shutdown only)",
    )
    serve.add_argument(
        "--native",
        default=None,
        metavar="DIR",
        help="serve on the mypyc-compiled core built in DIR (`make native`: build/native; default "
        "$RUCKSACK_NATIVE) when it matches the core's sources; pure Python otherwise, said at start",
    )
    serve.set_defaults(func=cmd_serve)

    serve.add_argument(
        "--journal",
        default=None,
        metavar="nats://HOST:PORT[,...]",
        help="also replicate the journal to this NATS JetStream cluster (docs/deploy.md)",
    )
    serve.add_argument(
        "--standby", action="store_true", help="with --journal: follow the writer, take over when its lease lapses"
    )
    serve.add_argument(
        "--link",
        default=None,
        metavar="HOST:PORT",
        help="with --journal: serve the gateway link here (port 0: any free one) and publish it in the writer "
        "lease, for independent gateways (`rucksack gateway`); with --gateways 0, no gateways of its own",
    )
    gate = sub.add_parser(
        "gateway", help="an independent gateway: the public API in front of whichever server holds the writer lease"
    )
    gate.add_argument("--journal", required=True, metavar="nats://HOST:PORT[,...]", help="the venue's JetStream")
    gate.add_argument("--host", default="127.0.0.1")
    gate.add_argument("--port", type=int, default=8000, help="shared with the other gateways (SO_REUSEPORT)")
    gate.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="the read store the writer projects into (as serve's --store; "
        "default: the writer's SQLite, same host only)",
    )
    gate.add_argument("--production", dest="sandbox", action="store_false", help="as serve's --production")
    gate.add_argument("--native", default=None, metavar="DIR", help="as serve's --native")
    gate.set_defaults(func=cmd_gateway)
    clu = sub.add_parser("cluster", help="run a 3-node NATS JetStream cluster on loopback (foreground)")
    clu.add_argument("--dir", default="build/cluster", help="configs, logs and JetStream data of the nodes")
    clu.add_argument("--base-port", type=int, default=14222, help="client ports N..N+2, routes +100, monitor +200")
    chaos = sub.add_parser("chaos", help="failure drills on a replicated deployment (one JSON line each)")
    csub = chaos.add_subparsers(dest="what", required=True)
    fail = csub.add_parser("failover", help="SIGKILL the writer under signed-order load; check nothing acked is lost")
    fail.add_argument("--trials", type=int, default=20, help="primary kills (plus one NATS-node kill and one pause)")
    fail.add_argument("--seed", type=int, default=1)
    fail.add_argument(
        "--takeover-target", type=float, default=3.0, help="seconds a takeover may take (a trial fails past it)"
    )
    fail.add_argument("--dir", default=None, help="work directory (default: a temporary one, removed)")
    fail.set_defaults(func=cmd_chaos)
    clu.set_defaults(func=cmd_cluster)
    sandbox = sub.add_parser("sandbox", help="sandbox helpers for bots and tests (server in sandbox mode)")
    ssub = sandbox.add_subparsers(dest="what", required=True)
    acc = ssub.add_parser("account", help="create a funded account; prints apiKey, apiSecret, accountId")
    acc.add_argument("--url", default=DEFAULT_EXCHANGE, help=EXCHANGE_HELP)
    acc.add_argument("--data-dir", help="where the server keeps its admin token (default: ./data, else make run's)")
    acc.add_argument("--fund", action="append", default=[], metavar="ASSET=QTY")
    acc.add_argument("--label", default="")
    acc.add_argument("--region", help="sign up as a resident of this region (ISO 3166, e.g. JP; docs/compliance.md)")
    acc.add_argument("--level", default="full", choices=("none", "basic", "full"), help="verification level")
    acc.add_argument("--referral-code", help="sign up with a referral code (docs/points.md)")
    acc.add_argument(
        "--no-auto-lend", action="store_true", help="open it with autoLend off (Backpack's default, and ours, is on)"
    )
    acc.set_defaults(func=cmd_sandbox_account)
    comp = ssub.add_parser("compliance", help="which products are open to an account, and why")
    comp.add_argument("--url", default="http://127.0.0.1:8000")
    comp.add_argument("--api-key", required=True)
    comp.add_argument("--api-secret", required=True)
    comp.set_defaults(func=cmd_sandbox_compliance)
    price = ssub.add_parser("price", help="set the reference price the demo makers quote around")
    price.add_argument("--url", default=DEFAULT_EXCHANGE, help=EXCHANGE_HELP)
    price.add_argument("--data-dir")
    price.add_argument("--symbol", required=True)
    price.add_argument("--price", required=True)
    price.set_defaults(func=cmd_sandbox_price)
    clock = ssub.add_parser("clock", help="advance the exchange's clock (schedules come due: day boundary, ...)")
    clock.add_argument("--url", default=DEFAULT_EXCHANGE, help=EXCHANGE_HELP)
    clock.add_argument("--data-dir")
    step = clock.add_mutually_exclusive_group(required=True)
    step.add_argument("--advance", help="how far: 90s, 30m, 2h, 1d (or milliseconds)")
    step.add_argument("--next-day", action="store_true", help="just past the next 00:00 UTC (one second after)")
    clock.set_defaults(func=cmd_sandbox_clock)
    plist = ssub.add_parser("premarket-list", help="list a pre-market's token now; it settles after the window")
    plist.add_argument("--url", default=DEFAULT_EXCHANGE, help=EXCHANGE_HELP)
    plist.add_argument("--data-dir")
    plist.add_argument("--symbol", required=True)
    plist.add_argument("--window-seconds", type=int, default=0, help="0: the configured window (an hour)")
    plist.set_defaults(func=cmd_sandbox_premarket_list)
    snap = ssub.add_parser("reserves-snapshot", help="publish a proof-of-reserves snapshot now")
    snap.add_argument("--url", default=DEFAULT_EXCHANGE, help=EXCHANGE_HELP)
    snap.add_argument("--data-dir")
    snap.add_argument("--zk", action="store_true", help="also prove the zero-knowledge tier (in the background)")
    snap.set_defaults(func=cmd_sandbox_reserves)

    op = sub.add_parser("operator", help="operator actions signed with the operator key (docs/api.md)")
    osub = op.add_subparsers(dest="what", required=True)
    keygen = osub.add_parser("keygen", help="make an operator key: secret to --out (0600), public key printed")
    keygen.add_argument("--out", required=True)
    keygen.set_defaults(func=cmd_operator_keygen)
    for name, helptext in (
        ("price", "set a feed symbol's index price now"),
        ("account", "open an unfunded account for a customer's public key"),
        ("backstop", "make an account a backstop liquidity provider (or not)"),
        ("premarket-list", "list a pre-market's token: its positions settle at the spot TWAP (docs/premarket.md)"),
        ("reserves-snapshot", "publish a proof-of-reserves snapshot now"),
        ("market", "open (list, resume), halt or delist a market"),
        ("alerts", "list the market surveillance alerts with their evidence"),
        ("resolve", "resolve a surveillance alert (journaled)"),
        ("identity", "set an account's verification level and/or region (compliance role)"),
        ("key", "register an operator key with roles, or remove it with none (admin key only)"),
        ("review", "approve (or --reject) a withdrawal held for review (operations role)"),
        ("audit", "export the operator audit trail, hash-chained (compliance role)"),
        ("vip", "set an account owner's VIP level: the lowest fee tier it pays, 0 removes it (operations role)"),
    ):
        action = osub.add_parser(name, help=helptext)
        action.add_argument("--url", default=DEFAULT_EXCHANGE, help=EXCHANGE_HELP)
        action.add_argument("--key-file", required=True, help="the operator's secret key (from `operator keygen`)")
        if name == "price":
            action.add_argument("--symbol", required=True)
            action.add_argument("--price", required=True)
        elif name == "account":
            action.add_argument("--public-key", required=True)
            action.add_argument("--label", default="")
        elif name == "backstop":
            action.add_argument("--account", type=int, required=True)
            action.add_argument("--disable", action="store_true")
        elif name == "reserves-snapshot":
            action.add_argument("--zk", action="store_true", help="also prove the zero-knowledge tier (background)")
        elif name == "premarket-list":
            action.add_argument("--symbol", required=True)
            action.add_argument("--window-seconds", type=int, default=0, help="0: the configured window")
        elif name == "market":
            action.add_argument("--symbol", required=True)
            action.add_argument("--status", required=True, choices=["Open", "Halted", "Delisted"])
            action.add_argument("--cancel-orders", action="store_true", help="a halt cancels open orders too")
            action.add_argument("--reason", default="Operator")
        elif name == "alerts":
            action.add_argument("--status", default=None, help="Open, Dismissed, Reported or Actioned")
            action.add_argument("--typology", default=None)
        elif name == "resolve":
            action.add_argument("--id", required=True)
            action.add_argument("--resolution", required=True, choices=["Dismissed", "Reported", "Actioned"])
            action.add_argument("--note", default="")
        elif name == "identity":
            action.add_argument("--account", type=int, required=True)
            action.add_argument("--level", choices=("none", "basic", "full"))
            action.add_argument("--region", help="ISO 3166 code, e.g. JP")
        elif name == "key":
            action.add_argument("--public-key", required=True)
            action.add_argument("--role", action="append", default=[], choices=("compliance", "risk", "operations"))
        elif name == "review":
            action.add_argument("--id", type=int, required=True)
            action.add_argument("--reject", action="store_true")
        elif name == "vip":
            action.add_argument("--account", type=int, required=True)
            action.add_argument("--level", type=int, required=True, help="a tier index (VIP 0 = Tier 1)")
        action.set_defaults(func=cmd_operator)

    check = sub.add_parser("verify-exchange", help="check an exchange's signed chain of commitments over HTTP")
    check.add_argument("--url", default=DEFAULT_EXCHANGE, help=EXCHANGE_HELP)
    check.add_argument("--public-key", default=None, help="the exchange's key (hex), obtained independently")
    check.set_defaults(func=cmd_verify_exchange)

    aud = sub.add_parser("audit", help="re-derive every published state hash and liabilities root from the journal")
    aud.add_argument("--data-dir", default=None, help="the venue's data dir (default: ./data, else make run's)")
    aud.set_defaults(func=cmd_audit)

    replay = sub.add_parser("replay", help="rebuild state from snapshot + journal and print its hash")
    replay.add_argument("--data-dir", required=True)
    replay.set_defaults(func=cmd_replay)

    surveil = sub.add_parser(
        "surveil", help="run market surveillance over a data directory's journal and print the alerts"
    )
    surveil.add_argument("--data-dir", required=True)
    surveil.add_argument("--status", default=None, help="only alerts in this status (Open, Dismissed, ...)")
    surveil.add_argument("--typology", default=None, help="only this typology (WashTrading, Spoofing, ...)")
    surveil.set_defaults(func=cmd_surveil)

    bench = sub.add_parser("bench", help="benchmarks (print one JSON line)")
    bsub = bench.add_subparsers(dest="what", required=True)
    eng = bsub.add_parser("engine", help="seeded in-process engine workload")
    eng.add_argument("--workload", default="spot")
    eng.add_argument("--commands", type=int, default=200_000)
    eng.add_argument("--seed", type=int, default=1)
    eng.add_argument("--accounts", type=int, default=1000)
    eng.add_argument(
        "--rounds", type=int, default=1, help="in-memory only: alternate engine and naive book N times, report the best"
    )
    eng.add_argument("--data-dir", default=None, help="also journal into this (empty) data directory")
    eng.add_argument("--snapshot-every", type=int, default=0, help="with --data-dir: snapshot every N commands")
    eng.set_defaults(func=cmd_bench)
    api = bsub.add_parser("api", help="signed orders/s and latency through the HTTP server on loopback")
    api.add_argument("--orders", type=int, default=20_000)
    api.add_argument("--connections", default="1,8", help="comma-separated connection counts, one run each")
    api.add_argument(
        "--gateways", default="1,2", help="comma-separated gateway counts, one server each (0: one process)"
    )
    api.add_argument("--batch", type=int, default=None, help="also run batch requests of this many orders (max 50)")
    api.set_defaults(func=cmd_bench)
    jour = bsub.add_parser("journal", help="acknowledged durable commands per second")
    jour.add_argument("--records", type=int, default=500_000)
    jour.add_argument("--dir", default=None, help="directory for the temporary journal")
    jour.add_argument("--no-fsync", action="store_true", help="skip fdatasync (CPU cost only)")
    jour.set_defaults(func=cmd_bench)

    from rucksack.exchange.vault_cli import add_parser as add_vault_parser

    add_vault_parser(sub)  # rucksack vault ... (docs/vaults.md)
    if command == "lab":  # the risk lab alone: a run must not load the wallet's stack (nor the core early)
        from rucksack.lab.cli import add_parser as add_lab_parser

        add_lab_parser(sub)
    elif command not in OWN_COMMANDS:
        _add_other_commands(sub)
    return parser


def _add_other_commands(sub: Any) -> None:
    """``devnet``, ``lab``, ``reserves`` and ``wallet``, whose modules (and what they load) live elsewhere."""
    from rucksack.chains.devnet.cli import add_parser as add_devnet_parser
    from rucksack.lab.cli import add_parser as add_lab_parser
    from rucksack.reserves.cli import DataDirHooks
    from rucksack.reserves.cli import register as register_reserves
    from rucksack.wallet.cli import add_parser as add_wallet_parser

    add_devnet_parser(sub)
    add_lab_parser(sub)
    register_reserves(sub, DataDirHooks(_reserves_liabilities, _reserves_key_path, _reserves_proof))
    add_wallet_parser(sub)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
