"""Snapshots, restore and the state hash.

A snapshot is a canonical, ordered, plain-data picture of the whole engine: accounts sorted by
id, fee tiers sorted by account, resting orders per market in priority order (bids best first,
then asks best first; FIFO within a level), deposit ids sorted. Encoding it with MessagePack is
therefore deterministic, and the state hash is the SHA-256 of that encoding. Restoring a
snapshot and replaying the journal tail must reproduce the live hash bit for bit.

Every integer the core can hold is encodable: MessagePack's own integers cover
``[-2**63, 2**64 - 1]``, which the bounds in ``markets`` keep every value inside; should one ever
lie outside (a sum nothing bounds), that integer alone is written as a MessagePack extension
(type ``BIG_INT_EXT``: big-endian two's complement, shortest form) and everything else keeps its
usual bytes, so the encoding stays canonical and a snapshot or state hash never fails.
"""

from __future__ import annotations

import hashlib

import msgspec

from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.compliance.checks import refresh_all
from rucksack.exchange.core.compliance.state import ComplianceRecord
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.growth.book import GrowthBook, GrowthRecord
from rucksack.exchange.core.market_state import mark_price
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.orders.triggers import Trigger
from rucksack.exchange.core.premarket.book import PreMarket
from rucksack.exchange.core.rfq.book import RfqBook, RfqRecord
from rucksack.exchange.core.strategies.book import StrategyBook, StrategyRecord
from rucksack.exchange.core.tiers.book import TierBook, TierRecord
from rucksack.exchange.core.vaults.book import VaultBook, VaultRecord

SNAPSHOT_VERSION = 7


class OrderRecord(msgspec.Struct, array_like=True, frozen=True):
    id: int
    account: int
    side: int
    price: int
    lots: int
    orig_lots: int
    filled_lots: int
    filled_quote: int
    hold: int
    client_id: int
    tif: int
    stp: int
    post_only: bool
    ts_us: int
    reduce_only: bool


class MarketRecord(msgspec.Struct, array_like=True, frozen=True):
    symbol: str
    last_price: int
    orders: list[OrderRecord]
    index_price: int
    basis_ewma: int
    index_ts_us: int
    premium_sum: int
    premium_count: int
    open_interest: int
    last_funding_rate: int


class PositionRecord(msgspec.Struct, array_like=True, frozen=True):
    market: int
    lots: int
    cost: int
    entry_cost: int
    open_buys: int
    open_sells: int
    realized: int
    funding: int
    fees: int
    reduce_only: list[int]


class AccountRecord(msgspec.Struct, array_like=True, frozen=True):
    account: int
    available: list[int]
    locked: list[int]
    lend_shares: list[int]
    borrow_shares: list[int]
    lent_principal: list[int]
    parent: int
    unsettled: int
    settings: tuple[bool, bool, bool, bool, int, bool]  # autoLend, autoRealizePnl, autoBorrowSettlements,
    # autoRepayBorrows, leverage limit, liquidating
    positions: list[PositionRecord]


class TriggerRecord(msgspec.Struct, array_like=True, frozen=True):
    id: int
    market: int
    by: int
    above: bool
    ts_us: int
    parent_id: int
    order: PlaceOrder


class PoolRecord(msgspec.Struct, array_like=True, frozen=True):
    asset: str
    cash: int
    lend_shares: int
    borrow_shares: int
    lend_index: int
    borrow_index: int
    u_cap: int


class MarketStatusRecord(msgspec.Struct, array_like=True, frozen=True):
    """A market's status (core.market_status) and its circuit breaker's window."""

    symbol: str
    status: str
    reason: str
    since_us: int
    window: list[tuple[int, int]]


class Snapshot(msgspec.Struct, array_like=True, frozen=True):
    version: int
    seq: int
    ts_us: int
    next_order_id: int
    next_trade_id: int
    accounts: list[AccountRecord]
    account_tiers: list[tuple[int, int]]
    markets: list[MarketRecord]
    deposit_ids: list[str]
    deposited: list[int]
    withdrawn: list[int]
    next_account_id: int
    api_keys: list[tuple[str, int]]
    pools: list[PoolRecord]
    last_accrual_hour: int
    backstop: list[int]
    last_funding_hour: int
    triggers: list[TriggerRecord]  # pending trigger orders by id
    tpsl: list[tuple[int, PlaceOrder]]  # resting orders with TP/SL attached, by id
    compliance: ComplianceRecord  # rules in force, identities, usage, withdrawal holds, operators, audit
    # last, with a default: a snapshot written before market status existed reads as all open
    market_status: list[MarketStatusRecord] = msgspec.field(default_factory=list)
    rfq: RfqRecord | None = None  # RFQs, quotes and RFQ fills (core.rfq.book); None: none yet
    strategies: StrategyRecord | None = None  # Scheduled strategies (core.strategies.book); None: none yet
    tiers: TierRecord | None = None  # volume, VIP levels, NFT perks (core.tiers.book); None: none yet
    growth: GrowthRecord | None = None  # points and affiliates (core.growth.book); None: nothing yet
    vaults: VaultRecord | None = None  # vaults (core.vaults.book); None: none yet
    premarkets: list[PreMarket] | None = None  # pre-market phases (core.premarket.book); None: all trading


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Snapshot)

BIG_INT_EXT = 1
"""MessagePack extension type of an integer outside MessagePack's 64-bit range."""
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1


def take_snapshot(engine: Engine) -> Snapshot:
    markets = []
    for m in engine.markets:
        records = [
            OrderRecord(
                id=o.id,
                account=o.account,
                side=o.side,
                price=o.price,
                lots=o.lots,
                orig_lots=o.orig_lots,
                filled_lots=o.filled_lots,
                filled_quote=o.filled_quote,
                hold=o.hold,
                client_id=o.client_id,
                tif=o.tif,
                stp=o.stp,
                post_only=o.post_only,
                ts_us=o.ts_us,
                reduce_only=o.reduce_only,
            )
            for o in m.bids.orders() + m.asks.orders()
        ]
        markets.append(
            MarketRecord(
                symbol=m.symbol,
                last_price=m.last_price,
                orders=records,
                index_price=m.index_price,
                basis_ewma=m.basis_ewma,
                index_ts_us=m.index_ts_us,
                premium_sum=m.premium_sum,
                premium_count=m.premium_count,
                open_interest=m.open_interest,
                last_funding_rate=m.last_funding_rate,
            )
        )
    ledger = engine.ledger
    return Snapshot(
        version=SNAPSHOT_VERSION,
        seq=engine.last_seq,
        ts_us=engine.last_ts_us,
        next_order_id=engine.next_order_id,
        next_trade_id=engine.next_trade_id,
        accounts=[
            AccountRecord(
                account=a,
                available=[x.available for x in acct.assets],
                locked=[x.locked for x in acct.assets],
                lend_shares=[x.lend_shares for x in acct.assets],
                borrow_shares=[x.borrow_shares for x in acct.assets],
                lent_principal=[x.lent_principal for x in acct.assets],
                parent=acct.parent,
                unsettled=acct.unsettled,
                settings=(
                    acct.auto_lend,
                    acct.auto_realize_pnl,
                    acct.auto_borrow_settlements,
                    acct.auto_repay_borrows,
                    acct.leverage_limit,
                    acct.liquidating,
                ),
                positions=[
                    PositionRecord(
                        market=mi,
                        lots=p.lots,
                        cost=p.cost,
                        entry_cost=p.entry_cost,
                        open_buys=p.open_buys,
                        open_sells=p.open_sells,
                        realized=p.realized,
                        funding=p.funding,
                        fees=p.fees,
                        reduce_only=list(p.reduce_only),
                    )
                    for mi, p in sorted(acct.positions.items())
                ],
            )
            for a, acct in sorted(ledger.accounts.items())
        ],
        account_tiers=[(a, acct.tier) for a, acct in sorted(ledger.accounts.items()) if acct.tier],
        markets=markets,
        deposit_ids=sorted(engine.deposit_ids),
        deposited=list(ledger.deposited),
        withdrawn=list(ledger.withdrawn),
        next_account_id=engine.next_account_id,
        api_keys=sorted(engine.api_keys.items()),
        pools=[
            PoolRecord(
                asset=a.symbol,
                cash=p.cash,
                lend_shares=p.lend_shares,
                borrow_shares=p.borrow_shares,
                lend_index=p.lend_index,
                borrow_index=p.borrow_index,
                u_cap=p.u_cap,
            )
            for a, p in zip(engine.spec.assets, engine.pools, strict=True)
            if p is not None
        ],
        last_accrual_hour=engine.last_accrual_hour,
        backstop=list(engine.backstop),
        last_funding_hour=engine.last_funding_hour,
        triggers=[
            TriggerRecord(
                id=t.id, market=t.market, by=t.by, above=t.above, ts_us=t.ts_us, parent_id=t.parent_id, order=t.order
            )
            for _, t in sorted(engine.triggers.items())
        ],
        tpsl=sorted(engine.tpsl.items()),
        market_status=_status_records(engine),
        compliance=engine.compliance.record(),
        rfq=engine.rfq.record() if engine.rfq.rfqs else None,
        strategies=_strategy_record(engine.strategies),
        tiers=engine.tiers.record(engine.ledger.accounts.values()),
        growth=None if engine.growth.empty() else engine.growth.record(),
        vaults=engine.vaults.record() if engine.vaults.vaults else None,
        premarkets=engine.premarkets.record(),
    )


def _strategy_record(book: StrategyBook) -> StrategyRecord | None:
    """None while nothing strategy-related happened (older snapshots and hashes stay the same)."""
    return book.record() if book.strategies or book.now_us else None


def _status_records(engine: Engine) -> list[MarketStatusRecord]:
    book = engine.market_status
    return [
        MarketStatusRecord(m.symbol, book.status[i], book.reason[i], book.since_us[i], list(book.window[i]))
        for i, m in enumerate(engine.markets)
    ]


def encode_snapshot(snapshot: Snapshot) -> bytes:
    try:
        return _encoder.encode(snapshot)
    except OverflowError:  # an integer beyond 64 bits: the same bytes, that integer as an extension
        return _encoder.encode(_widen(msgspec.to_builtins(snapshot)))


def decode_snapshot(data: bytes) -> Snapshot:
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError:  # maybe written with wide integers: decode them, then check the shape
        return msgspec.convert(msgspec.msgpack.decode(data, ext_hook=_narrow), Snapshot)


def _widen(value: object) -> object:
    """``value`` (plain data) with every integer outside MessagePack's range as a BIG_INT_EXT."""
    if isinstance(value, (list, tuple)):
        return [_widen(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not _INT_MIN <= value <= _INT_MAX:
        size = (value.bit_length() + 8) // 8  # room for the sign bit
        return msgspec.msgpack.Ext(BIG_INT_EXT, value.to_bytes(size, "big", signed=True))
    return value


def _narrow(code: int, data: memoryview) -> int:
    if code != BIG_INT_EXT:
        raise ValueError(f"unknown MessagePack extension {code} in a snapshot")
    return int.from_bytes(data, "big", signed=True)


def hash_snapshot(snapshot: Snapshot) -> str:
    return hashlib.sha256(encode_snapshot(snapshot)).hexdigest()


def state_hash(engine: Engine) -> str:
    """SHA-256 (hex) of the canonical snapshot encoding."""
    return hash_snapshot(take_snapshot(engine))


def restore(spec: ExchangeSpec, snapshot: Snapshot) -> Engine:
    """Build an engine whose state equals the snapshot's (same state hash)."""
    if snapshot.version != SNAPSHOT_VERSION:
        raise ValueError(f"snapshot version {snapshot.version} is not supported")
    engine = Engine(spec)
    engine.last_seq = snapshot.seq
    engine.last_ts_us = snapshot.ts_us
    engine.next_order_id = snapshot.next_order_id
    engine.next_trade_id = snapshot.next_trade_id
    ledger = engine.ledger
    for rec in snapshot.accounts:
        acct = ledger.account(rec.account)
        for i, balance in enumerate(acct.assets):
            balance.available = rec.available[i]
            balance.locked = rec.locked[i]
            balance.lend_shares = rec.lend_shares[i]
            balance.borrow_shares = rec.borrow_shares[i]
            balance.lent_principal = rec.lent_principal[i]
        acct.parent = rec.parent
        acct.unsettled = rec.unsettled
        (
            acct.auto_lend,
            acct.auto_realize_pnl,
            acct.auto_borrow_settlements,
            acct.auto_repay_borrows,
            acct.leverage_limit,
            acct.liquidating,
        ) = rec.settings
        for posrec in rec.positions:
            pos = acct.position(posrec.market)
            pos.lots, pos.cost, pos.entry_cost = posrec.lots, posrec.cost, posrec.entry_cost
            pos.open_buys, pos.open_sells = posrec.open_buys, posrec.open_sells
            pos.realized, pos.funding, pos.fees = posrec.realized, posrec.funding, posrec.fees
            pos.reduce_only = list(posrec.reduce_only)
    for account, tier in snapshot.account_tiers:
        ledger.account(account).tier = tier
    if [m.symbol for m in snapshot.markets] != [m.symbol for m in engine.markets]:
        raise ValueError("snapshot markets do not match the exchange spec")
    for m, mrec in zip(engine.markets, snapshot.markets, strict=True):
        m.last_price = mrec.last_price
        m.index_price, m.basis_ewma, m.index_ts_us = mrec.index_price, mrec.basis_ewma, mrec.index_ts_us
        m.mark = mark_price(m)
        m.premium_sum, m.premium_count = mrec.premium_sum, mrec.premium_count
        m.open_interest, m.last_funding_rate = mrec.open_interest, mrec.last_funding_rate
        for o in mrec.orders:
            order = Order(
                order_id=o.id,
                account=o.account,
                market=m.index,
                side=o.side,
                price=o.price,
                lots=o.lots,
                client_id=o.client_id,
                tif=o.tif,
                stp=o.stp,
                post_only=o.post_only,
                is_limit=True,
                quote_atoms=0,
                ts_us=o.ts_us,
                acct=ledger.account(o.account),
            )
            order.orig_lots = o.orig_lots
            order.filled_lots = o.filled_lots
            order.filled_quote = o.filled_quote
            order.hold = o.hold
            order.reduce_only = o.reduce_only
            (m.bids if o.side == 0 else m.asks).add(order)
            engine.orders[o.id] = order
            if o.client_id >= 0:
                engine.client_orders[(o.account << 32) | o.client_id] = o.id
    engine.deposit_ids = set(snapshot.deposit_ids)
    ledger.deposited[:] = snapshot.deposited
    ledger.withdrawn[:] = snapshot.withdrawn
    engine.next_account_id = snapshot.next_account_id
    engine.api_keys = dict(snapshot.api_keys)
    engine.last_accrual_hour = snapshot.last_accrual_hour
    engine.backstop = list(snapshot.backstop)
    engine.last_funding_hour = snapshot.last_funding_hour
    for trec in snapshot.triggers:
        trigger = Trigger(
            order_id=trec.id,
            order=trec.order,
            market=trec.market,
            by=trec.by,
            above=trec.above,
            ts_us=trec.ts_us,
            parent_id=trec.parent_id,
        )
        engine.triggers[trec.id] = trigger
        if trigger.client_id >= 0:
            engine.client_orders[(trigger.account << 32) | trigger.client_id] = trec.id
    engine.tpsl = dict(snapshot.tpsl)
    book = engine.market_status
    for srec in snapshot.market_status:
        i = engine.market_by_symbol[srec.symbol].index
        book.status[i], book.reason[i], book.since_us[i] = srec.status, srec.reason, srec.since_us
        book.window[i] = [(ts, price) for ts, price in srec.window]
    engine.compliance.load(snapshot.compliance)
    refresh_all(engine, clamp=False)  # the derived lookups; leverage limits are already in the snapshot
    if snapshot.rfq is not None:
        engine.rfq = RfqBook.from_record(snapshot.rfq)
    if snapshot.strategies is not None:
        engine.strategies = StrategyBook.from_record(snapshot.strategies)
    if snapshot.tiers is not None:
        engine.tiers = TierBook.from_record(snapshot.tiers)
    if snapshot.growth is not None:
        active = engine.growth.active
        engine.growth = GrowthBook.from_record(snapshot.growth)
        engine.growth.active = engine.growth.active or active
    if snapshot.vaults is not None:
        engine.vaults = VaultBook.from_record(snapshot.vaults)
        engine.halted_vaults = {v.account for v in engine.vaults.vaults.values() if v.halted}
        engine.programme_excluded = {v.account for v in engine.vaults.vaults.values() if v.protocol}
    if snapshot.premarkets is not None:
        engine.premarkets.load(snapshot.premarkets)
    for prec in snapshot.pools:
        pool = engine.pools[engine.asset_index[prec.asset]]
        if pool is None:
            raise ValueError(f"snapshot has a lending pool for {prec.asset}, the spec does not")
        pool.cash, pool.lend_shares, pool.borrow_shares = prec.cash, prec.lend_shares, prec.borrow_shares
        pool.lend_index, pool.borrow_index = prec.lend_index, prec.borrow_index
        pool.u_cap = prec.u_cap
    return engine
