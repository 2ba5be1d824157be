"""The exchange's side of proof of reserves: liabilities from the engine at an exact journal seq.

:func:`liabilities` reads a consistent cut of the engine (call it between commands: in the
server's loop thread, or on an engine recovered read-only) and returns a
:class:`rucksack.reserves.liabilities.LiabilitySnapshot` plus the exchange's own accounts.

**The equity/debt rule.** For every account (subaccounts are accounts of their own, each its own
row) and asset ``a``::

    net_a = available + locked + lend claim - borrow debt         (pool claims round down, debts up)
    net_settle += unsettled + sum over perp positions of (lots * mark * lot_tick_atoms - cost)
    equity_a = max(net_a, 0)        debt_a = max(-net_a, 0)

that is, the net of each asset is what the exchange owes the account in it (negative: what the
account owes the exchange). Unsettled balances and unrealized perp PnL (at the mark price, the
last trade while there is none, as ``MarginCalc`` values them) are denominated in the settlement
asset and count there. Nothing is haircut and no price converts one asset into another: the tree
carries atoms per asset, prices and haircuts are recorded beside them for tier (b).

**System accounts** (fee account, liquidity fund, settlement pot: ids below 1000) are the
exchange's own and are *not* leaves of the tree; :func:`liabilities` returns them separately
(``exchange-accounts.json``). The settlement pot's balance is the counterpart of every account's
unsettled balance and unrealized PnL (the core's invariant: pot = sum unsettled - sum costs, and
long and short lots cancel), so it already backs liabilities that are in the tree.

**Reserves.** With chain custody connected (``rucksack serve --chain-rpc``), the server's snapshot
task publishes on-chain reserves (:func:`onchain_reserves`): right after the liabilities cut it reads
custody's balances (hot wallet and every deposit address, native and USDC, one pinned height per
chain: ``custody.reserves.onchain_holdings``), and once the tree gives the snapshot id each address's
key signs the statement's ``challenge``; ``reserves.json`` then holds one ``"source": "on-chain"``
row per address and asset (``chain``, ``address``, ``height``, ``balance`` atoms rounded down,
``signature``), which the verifier sums per asset. Without custody (or when a node cannot be read:
logged), the fallback is per asset ``deposited - withdrawn`` from the ledger (everything that came
in minus everything that left), one holding per asset marked
``"source": "exchange-ledger (not on-chain)"``.

**Prices**: the index of the asset's market against the settlement asset (spot first, else perp;
``MarginCalc.pricers``), as an exact decimal of settlement units per whole unit (``"0"`` with no
index yet); the settlement asset is ``"1"``. **Haircut**: the collateral weight of the asset's
haircut (its flat, small-holding weight for ``inverseSqrt``), ``"0"`` for non-collateral assets.

On disk (:func:`publish`), one directory per snapshot ``DATA/reserves/<seq>/``: ``snapshot.json``,
``reserves.json``, ``exchange-accounts.json`` (public), ``proofs/<account>.json`` (0600, one per
account) and ``private/`` (0600: ``snapshot-secret.hex``, ``liabilities.json`` for re-issuing
proofs); the long-lived signing key is ``DATA/reserves/private/signing.key``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from rucksack.exchange.core import queries
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.markets import FIRST_USER_ACCOUNT
from rucksack.exchange.core.numeric import WAD
from rucksack.reserves.liabilities import (
    AssetInfo,
    CustodyHolding,
    LiabilityRow,
    LiabilitySnapshot,
    check_snapshot,
    encode_snapshot,
    load_snapshot,
)

if TYPE_CHECKING:
    from rucksack.exchange.custody.db import CustodyDb
    from rucksack.exchange.custody.keys import CustodyKeys
    from rucksack.exchange.custody.reserves import OnchainHolding

log = logging.getLogger("rucksack.reserves")
RESERVES_DIR = "reserves"
EXCHANGE_ACCOUNTS = "exchange-accounts.json"  # informational, unsigned: not liabilities
LEDGER_ADDRESS = "exchange ledger: deposited - withdrawn"
DAY_US = 86_400_000_000
MAX_PLACES = 18  # a price whose exact decimal does not terminate is cut (down) to this many places


@dataclass(frozen=True)
class SystemRow:
    account: int
    role: str
    equity: list[int]
    debt: list[int]


@dataclass(frozen=True)
class Liabilities:
    snapshot: LiabilitySnapshot
    system: list[SystemRow]


def _decimal(value: Fraction) -> str:
    """Exact decimal string of a non-negative fraction (cut down to MAX_PLACES when it does not end)."""
    whole, rest = divmod(value.numerator, value.denominator)
    if not rest:
        return str(whole)
    digits = []
    for _ in range(MAX_PLACES):
        rest *= 10
        d, rest = divmod(rest, value.denominator)
        digits.append(str(d))
        if not rest:
            break
    return f"{whole}.{''.join(digits).rstrip('0') or '0'}"


def asset_prices(engine: Engine) -> list[AssetInfo]:
    spec = queries.spec(engine)
    settle = queries.settle_asset(engine)
    settle_decimals = spec.assets[settle].decimals
    out = []
    for i, a in enumerate(spec.assets):
        if i == settle:
            price = Fraction(1)
        else:
            m = queries.price_market(engine, i)
            price = (
                Fraction(10**a.decimals * m.index_price * m.lot_tick_atoms, m.lot_atoms * 10**settle_decimals)
                if m is not None
                else Fraction(0)
            )
        weight = Fraction(a.collateral.weight, WAD) if a.collateral is not None else Fraction(0)
        out.append(AssetInfo(a.symbol, a.decimals, _decimal(price), _decimal(weight)))
    return out


def account_nets(engine: Engine, account: int) -> list[int]:
    """Signed net atoms per asset of one account (the rule in the module docstring), as the core's
    own valuation counts them (``queries.account_nets``: the collateral rows and the margin's PnL)."""
    return queries.account_nets(engine, account)


def _split(nets: list[int]) -> tuple[list[int], list[int]]:
    return [n if n > 0 else 0 for n in nets], [-n if n < 0 else 0 for n in nets]


def liabilities(engine: Engine) -> Liabilities:
    """The engine's liabilities at its last seq (read between commands: nothing may mutate it)."""
    spec = queries.spec(engine)
    roles = {
        spec.fee_account: "fees",
        spec.risk.liquidity_fund_account: "liquidity fund",
        spec.risk.settlement_account: "settlement pot",
    }
    rows: list[LiabilityRow] = []
    system: list[SystemRow] = []
    for account in queries.account_ids(engine):
        equity, debt = _split(account_nets(engine, account))
        if account < FIRST_USER_ACCOUNT:
            system.append(SystemRow(account, roles.get(account, "system"), equity, debt))
        else:
            rows.append(LiabilityRow(account, equity, debt))
    custody = [
        CustodyHolding(a.symbol, net, LEDGER_ADDRESS, 0)
        for a, net in zip(spec.assets, queries.net_deposits(engine), strict=True)
    ]
    snap = LiabilitySnapshot(
        seq=queries.last_seq(engine),
        ts_us=queries.last_ts_us(engine),
        assets=asset_prices(engine),
        rows=rows,
        price_asset=spec.settlement_asset,
        custody=custody,
    )
    check_snapshot(snap)
    return Liabilities(snap, system)


def liabilities_from_data_dir(data_dir: Path) -> Liabilities:
    """Recover the engine read-only (newest snapshot + journal tail) and take liabilities at its last seq."""
    from rucksack.exchange.sequencer.datadir import recover

    return liabilities(recover(data_dir).engine)


# ------------------------------------------------------------------------------------------ publishing


def reserves_root(data_dir: Path) -> Path:
    return data_dir / RESERVES_DIR


def signing_key_path(data_dir: Path) -> Path:
    return reserves_root(data_dir) / "private" / "signing.key"


def exchange_accounts_doc(liab: Liabilities) -> dict[str, Any]:
    symbols = [a.symbol for a in liab.snapshot.assets]
    return {
        "version": "rucksack-por-v1",
        "seq": liab.snapshot.seq,
        "ts_us": liab.snapshot.ts_us,
        "note": "the exchange's own accounts: not leaves of the tree; the settlement pot backs the "
        "accounts' unsettled balances and unrealized PnL",
        "accounts": [
            {
                "account": r.account,
                "role": r.role,
                "equity": dict(zip(symbols, map(str, r.equity), strict=True)),
                "debt": dict(zip(symbols, map(str, r.debt), strict=True)),
            }
            for r in liab.system
        ],
    }


def exchange_accounts_json(liab: Liabilities) -> bytes:
    return msgspec.json.format(msgspec.json.encode(exchange_accounts_doc(liab)), indent=2) + b"\n"


@dataclass(frozen=True)
class OnchainReserves:
    """Custody's on-chain balances for one snapshot and a signer per ``(chain, address)``."""

    holdings: list[Any]  # custody.reserves.OnchainHolding
    signers: dict[tuple[str, str], Callable[[str], str]]
    # sandbox mode: atoms per asset the sandbox granted (sign-ups, demo makers) -- ledger money no
    # chain holds, declared as such (SANDBOX_SOURCE) so the statement is honest about it
    sandbox_grants: dict[str, int] = field(default_factory=dict)


def onchain_statement(snapshot_id: str, snap: LiabilitySnapshot, onchain: OnchainReserves, key: Any) -> Any:
    """The signed ``reserves.json`` of on-chain holdings, each signed over the challenge by its address."""
    from rucksack.reserves.build import signed_reserves
    from rucksack.reserves.documents import ONCHAIN_SOURCE, SANDBOX_SOURCE, Holding, challenge_for

    challenge = challenge_for(snapshot_id)
    sigs = {where: sign(challenge) for where, sign in onchain.signers.items()}
    holdings = [
        Holding(
            asset=h.asset,
            balance=str(h.atoms),
            source=ONCHAIN_SOURCE,
            address=h.address,
            height=h.height,
            signature=sigs[(h.chain, h.address)],
            chain=h.chain,
        )
        for h in onchain.holdings
        if h.atoms > 0
    ]
    holdings += [
        Holding(asset=asset, balance=str(atoms), source=SANDBOX_SOURCE)
        for asset, atoms in sorted(onchain.sandbox_grants.items())
        if atoms > 0
    ]
    return signed_reserves(snapshot_id, snap.seq, snap.ts_us, holdings, key)


def publish(
    liab: Liabilities,
    out: Path,
    key_path: Path,
    *,
    zk: bool = False,
    progress: Any = None,
    onchain: OnchainReserves | None = None,
) -> dict[str, Any]:
    """Build tier (a) (and tier (b) with ``zk``) for ``liab`` into ``out`` (written to a temporary
    sibling, then renamed, so a half-written snapshot is never published). Returns a summary.
    ``onchain``: publish those holdings as ``reserves.json`` instead of the ledger's figures."""
    from rucksack.reserves.build import build_from_liabilities, load_signing_key, write_private, write_publication

    key = load_signing_key(key_path, create=True)
    secret = secrets.token_bytes(32)  # fresh per snapshot: leaves cannot be linked across snapshots
    tmp = out.with_name(f".{out.name}.tmp-{secrets.token_hex(4)}")
    private = tmp / "private"
    private.mkdir(parents=True, mode=0o700)
    write_private(private / "snapshot-secret.hex", secret.hex().encode() + b"\n")
    write_private(private / "liabilities.json", encode_snapshot(liab.snapshot))
    pub = build_from_liabilities(liab.snapshot, secret, key, progress=progress)
    if onchain is not None:
        pub = replace(pub, reserves=onchain_statement(pub.snapshot.snapshot_id, liab.snapshot, onchain, key))
    write_publication(pub, tmp)
    (tmp / EXCHANGE_ACCOUNTS).write_bytes(exchange_accounts_json(liab))
    summary: dict[str, Any] = {
        "seq": pub.snapshot.seq,
        "snapshot_id": pub.snapshot.snapshot_id,
        "root": pub.snapshot.root,
        "depth": pub.snapshot.depth,
        "accounts": len(liab.snapshot.rows),
        "public_key": pub.snapshot.public_key,
        "reserves_source": "on-chain" if onchain is not None else "exchange-ledger",
    }
    if zk:
        from rucksack.reserves.zk.prover import build_zk, write_zk

        written = write_zk(build_zk(liab.snapshot, secret, key, pub.tree.snapshot_id, progress=progress), tmp)
        summary["zk"] = str(out / written["zk"].name)
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    summary["dir"] = str(out)
    return summary


def snapshot_dirs(data_dir: Path) -> list[Path]:
    """Published snapshot directories under ``DATA/reserves``, newest (highest seq) first."""
    root = reserves_root(data_dir)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.name.isdigit() and (p / "snapshot.json").is_file()]
    return sorted(found, key=lambda p: int(p.name), reverse=True)


def next_daily_us(data_dir: Path) -> int | None:
    """When the server's daily task cuts the next snapshot (the start of the UTC day after the
    newest one's), or None before the first (cut at start-up)."""
    latest = latest_dir(data_dir)
    if latest is None:
        return None
    try:
        ts_us = int(msgspec.json.decode((latest / "snapshot.json").read_bytes())["ts_us"])
    except (OSError, ValueError, KeyError, msgspec.DecodeError):
        return None
    return (ts_us // DAY_US + 1) * DAY_US


def latest_dir(data_dir: Path) -> Path | None:
    dirs = snapshot_dirs(data_dir)
    return dirs[0] if dirs else None


def reissue_proof(snapshot_dir: Path, account: int) -> bytes:
    """Re-issue ``account``'s proof from the snapshot's kept liabilities and secret; the rebuilt
    root must equal the published one (KeyError if the account is not in it)."""
    import json

    from rucksack.reserves.build import proof_for
    from rucksack.reserves.documents import encode
    from rucksack.reserves.tree import build_tree

    snap = load_snapshot(snapshot_dir / "private" / "liabilities.json")
    secret = bytes.fromhex((snapshot_dir / "private" / "snapshot-secret.hex").read_text().strip())
    published = json.loads((snapshot_dir / "snapshot.json").read_bytes())
    tree = build_tree(snap, secret, min_depth=int(published["depth"]))
    if tree.root.hex() != published["root"]:
        raise ValueError(f"{snapshot_dir}: the kept liabilities rebuild root {tree.root.hex()}, not the published one")
    data: bytes = encode(proof_for(tree, snap, account))
    return data


def cli_liabilities(data_dir: Path) -> tuple[LiabilitySnapshot, dict[str, bytes]]:
    """For ``rucksack reserves snapshot --data-dir``: the snapshot plus exchange-accounts.json (the
    recovery drawn as a progress bar when stderr is a terminal)."""
    from rucksack.exchange.sequencer.datadir import recover
    from rucksack.progress import progress_bar

    bar = progress_bar("recovering", unit="cmd")
    try:
        liab = liabilities(recover(data_dir, progress=bar.update).engine)
    finally:
        bar.close()
    return liab.snapshot, {EXCHANGE_ACCOUNTS: exchange_accounts_json(liab)}


def cli_proof(data_dir: Path, account: int, seq: int | None) -> bytes:
    """For ``rucksack reserves proof --data-dir``: re-issue from DATA/reserves/<seq> (newest by default)."""
    if seq is None:
        found = latest_dir(data_dir)
        if found is None:
            raise FileNotFoundError(f"no published reserves snapshot under {reserves_root(data_dir)}")
    else:
        found = reserves_root(data_dir) / str(seq)
        if not (found / "snapshot.json").is_file():
            raise FileNotFoundError(f"no published reserves snapshot at {found}")
    return reissue_proof(found, account)


# ------------------------------------------------------------------------------------------ the server


class OnchainCustody(Protocol):
    """The part of chain custody that on-chain reserves read (``custody.service.Custody``)."""

    @property
    def rpcs(self) -> Mapping[str, object]: ...

    @property
    def keys(self) -> CustodyKeys: ...

    @property
    def db(self) -> CustodyDb: ...

    async def reserves_holdings(self) -> list[OnchainHolding]: ...


class DepositTotals(Protocol):
    def deposit_totals(self, ref_prefix: str, upto_seq: int) -> dict[str, int]: ...


class Books(Protocol):
    """What the reserves export needs from the running exchange (the service is one): the engine
    to cut liabilities from, a way to make everything applied durable and projected first, the
    read store's deposit totals, custody, the data directory, the mode and the wall clock."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def sandbox(self) -> bool: ...

    @property
    def clock(self) -> Callable[[], int]: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def store(self) -> DepositTotals: ...

    @property
    def custody(self) -> OnchainCustody | None: ...

    def catch_up(self) -> None: ...

    def cut_checkpoint(self) -> Any: ...

    async def cut_ready(self) -> None: ...

    async def checkpoint_now(self, cut: Any = None, liabilities_root: str | None = None) -> dict[str, Any]: ...


def take_snapshot(service: Books) -> tuple[Liabilities, Path]:
    """Liabilities at the live engine's last seq, taken in the loop thread after the journal covers it."""
    # the cut is durable (a crash cannot lose the seq it is taken at) and projected (the read store
    # holds every event up to it: the sandbox grants are read there)
    service.catch_up()
    liab = liabilities(service.engine)
    return liab, reserves_root(service.data_dir) / str(liab.snapshot.seq)


async def onchain_reserves(service: Books, seq: int) -> OnchainReserves | None:
    """Custody's on-chain balances now (one pinned height per chain) and their signers; None without
    chain custody, or when a node cannot be read (logged: the ledger's figures stand in)."""
    custody = service.custody
    if custody is None or not custody.rpcs:
        return None
    from rucksack.exchange.custody.reserves import control_signers

    try:
        holdings = await custody.reserves_holdings()
    except Exception as exc:  # an unreachable node must not stop the snapshot
        log.warning("on-chain reserves unavailable (%s): publishing the ledger's figures", exc)
        return None
    grants = sandbox_grants(service, seq) if service.sandbox else {}
    return OnchainReserves(holdings, control_signers(custody.keys, custody.db, holdings), grants)


def sandbox_grants(service: Books, seq: int) -> dict[str, int]:
    """Atoms per asset granted by the sandbox up to ``seq`` (deposits whose id starts ``sandbox:``),
    from the read store, which :func:`take_snapshot` has brought up to ``seq``."""
    return service.store.deposit_totals("sandbox:", seq)


async def publish_now(service: Books, *, zk: bool = False, zk_workers: int = 1) -> dict[str, Any]:
    """Take a tier (a) snapshot now (the cut in the loop, the tree and files in a worker thread);
    with chain custody, reserves are read from the chains right after the cut. ``zk``: also start
    proving its tier (b) in the background (:func:`start_zk`); ``zkStatus`` in the summary."""
    await service.cut_ready()  # a checkpoint being sealed first, so this one can be cut at the same seq
    liab, out = take_snapshot(service)
    if (out / "snapshot.json").is_file():
        found: dict[str, Any] = {"seq": liab.snapshot.seq, "dir": str(out), "existing": True}
        if zk:
            found["zkStatus"] = start_zk(out, signing_key_path(service.data_dir), zk_workers)
        return found
    # the checkpoint at the same seq (no await since the cut): its record will carry the tree's root
    cut = service.cut_checkpoint()
    onchain = await onchain_reserves(service, liab.snapshot.seq)
    started = time.perf_counter()
    summary = await asyncio.to_thread(publish, liab, out, signing_key_path(service.data_dir), onchain=onchain)
    log.info("reserves snapshot at seq %s in %.2f s", liab.snapshot.seq, time.perf_counter() - started)
    summary["checkpoint"] = None
    if cut is None:
        log.warning("reserves snapshot at seq %s has no checkpoint: this node cannot cut one now", liab.snapshot.seq)
    else:
        summary["checkpoint"] = await service.checkpoint_now(cut, liabilities_root=summary["root"])
    if zk:
        summary["zkStatus"] = start_zk(out, signing_key_path(service.data_dir), zk_workers)
    return summary


# ------------------------------------------------------------------ tier (b) beside a published snapshot
#
# The zero-knowledge tier of a snapshot the server published is proved *after* tier (a), from what
# tier (a) kept (private/liabilities.json and private/snapshot-secret.hex) and its snapshot id, so
# tier (a) is served at once and tier (b) joins it when proved. The proving runs in a worker thread
# that drives the prover's worker processes (rucksack.reserves.zk.engines): never in the event loop.
# Proved batches are kept in private/zk-work until the end, so a proving cut short (a crash, a
# restart) resumes where it stopped the next time it is started for that snapshot (the daily job
# does at start-up). zk-proofs/ is written before zk.json, which is renamed into place last: a
# served zk.json always has every account's zk inclusion proof beside it.

_proving: dict[Path, asyncio.Task[None]] = {}  # snapshot dir -> its running tier (b) proving


def zk_status(snapshot_dir: Path) -> str:
    """``done`` (zk.json published), ``proving`` (running now), ``interrupted`` (batches kept from
    a proving cut short: resumes when started again) or ``none``."""
    if (snapshot_dir / "zk.json").is_file():
        return "done"
    task = _proving.get(snapshot_dir)
    if task is not None and not task.done():
        return "proving"
    return "interrupted" if (snapshot_dir / "private" / "zk-work").is_dir() else "none"


def prove_zk(snapshot_dir: Path, key_path: Path, *, workers: int = 1, prover: str = "auto") -> dict[str, Any]:
    """Prove tier (b) of the published snapshot in ``snapshot_dir`` (blocking; resumable from
    ``private/zk-work``), write ``zk-proofs/`` then ``zk.json``; progress goes to the log."""
    import json

    from rucksack.reserves.build import load_signing_key
    from rucksack.reserves.zk.prover import build_zk, write_zk

    snap = load_snapshot(snapshot_dir / "private" / "liabilities.json")
    secret = bytes.fromhex((snapshot_dir / "private" / "snapshot-secret.hex").read_text().strip())
    snapshot_id = bytes.fromhex(json.loads((snapshot_dir / "snapshot.json").read_bytes())["snapshot_id"])
    work = snapshot_dir / "private" / "zk-work"
    started = time.perf_counter()
    log.info("reserves zk tier for seq %s: proving %d accounts", snap.seq, len(snap.rows))
    pub = build_zk(
        snap,
        secret,
        load_signing_key(key_path),
        snapshot_id,
        progress=lambda line: log.info("reserves zk seq %s: %s", snap.seq, line),
        prover=prover,
        workers=workers,
        work_dir=work,
    )
    staging = snapshot_dir / f".zk.tmp-{secrets.token_hex(4)}"
    written = write_zk(pub, staging)
    shutil.rmtree(snapshot_dir / "zk-proofs", ignore_errors=True)
    os.replace(written["zk_proofs"], snapshot_dir / "zk-proofs")
    os.replace(written["zk"], snapshot_dir / "zk.json")  # last: served only with every proof beside it
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    log.info("reserves zk tier for seq %s proved in %.2f s: %s", snap.seq, elapsed, pub.timings)
    return {"seq": snap.seq, "zk": str(snapshot_dir / "zk.json"), "seconds": round(elapsed, 2)}


def start_zk(snapshot_dir: Path, key_path: Path, workers: int = 1) -> str:
    """Start proving tier (b) of ``snapshot_dir`` in the background unless done or running; the
    status (:func:`zk_status`) after, or ``busy`` when another snapshot's tier (b) is being proved
    (one at a time: the prover must never crowd out the sequencer). Call from the event loop."""
    status = zk_status(snapshot_dir)
    if status in ("done", "proving"):
        return status
    if any(not task.done() for task in _proving.values()):
        return "busy"

    async def run() -> None:
        try:
            await asyncio.to_thread(prove_zk, snapshot_dir, key_path, workers=workers)
        except Exception:  # a failed proof must never stop the exchange; the kept batches resume it
            log.exception("reserves zk tier for %s failed", snapshot_dir.name)

    _proving[snapshot_dir] = asyncio.get_running_loop().create_task(run())
    return "proving"


async def daily_snapshots(service: Books, period: float = 60.0, *, zk: bool = False, zk_workers: int = 1) -> None:
    """One tier (a) snapshot at start-up when none exists, then one per UTC day (checked every
    ``period`` seconds). With ``zk`` (``rucksack serve --reserves-zk``) each also gets its tier (b),
    proved in the background; at start-up the newest snapshot's unfinished tier (b) is resumed."""
    if zk and (newest := latest_dir(service.data_dir)) is not None:
        start_zk(newest, signing_key_path(service.data_dir), zk_workers)
    while True:
        latest = latest_dir(service.data_dir)
        day = service.clock() // DAY_US
        last_day = -1
        if latest is not None:
            try:
                last_day = int(msgspec.json.decode((latest / "snapshot.json").read_bytes())["ts_us"]) // DAY_US
            except (OSError, ValueError, KeyError, msgspec.DecodeError):
                last_day = -1
        if latest is None or last_day < day:
            try:
                await publish_now(service, zk=zk, zk_workers=zk_workers)
            except Exception:  # a failed snapshot must never stop the exchange
                log.exception("reserves snapshot failed")
        await asyncio.sleep(period)


__all__ = [
    "Liabilities",
    "SystemRow",
    "account_nets",
    "asset_prices",
    "daily_snapshots",
    "latest_dir",
    "liabilities",
    "liabilities_from_data_dir",
    "next_daily_us",
    "prove_zk",
    "publish",
    "publish_now",
    "reissue_proof",
    "snapshot_dirs",
    "start_zk",
    "zk_status",
]
