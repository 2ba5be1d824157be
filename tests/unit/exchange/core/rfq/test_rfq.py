"""RFQ in the core: request, quote, accept, Immediate, refresh, cancel, expiry, settlement through
the ledger with book fees, equity sessions, snapshots and replay."""

from __future__ import annotations

from datetime import datetime

import pytest

from rucksack.exchange.core.commands import Command, CreateAccount, Deposit
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.invariants import check_invariants, conservation_report
from rucksack.exchange.core.rfq.commands import AcceptQuote, CancelRfq, ExpireRfqs, RefreshRfq, SubmitQuote, SubmitRfq
from rucksack.exchange.core.rfq.events import QuoteClosed, RfqClosed, RfqFilled, RfqRejected, RfqSubmitted
from rucksack.exchange.core.rfq.sessions import session_at
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.conftest import default_spec

MONDAY_REGULAR = int(datetime.fromisoformat("2026-12-07T15:00:00+00:00").timestamp()) * 1_000_000  # 10:00 NY
SATURDAY = int(datetime.fromisoformat("2026-12-05T15:00:00+00:00").timestamp()) * 1_000_000
CHRISTMAS = int(datetime.fromisoformat("2026-12-25T15:00:00+00:00").timestamp()) * 1_000_000
PRE_MARKET = int(datetime.fromisoformat("2026-12-07T10:00:00+00:00").timestamp()) * 1_000_000  # 05:00 NY
NIGHT = int(datetime.fromisoformat("2026-12-08T03:00:00+00:00").timestamp()) * 1_000_000  # 22:00 NY


class Venue:
    """The default spec's engine, commands at a controllable time, invariants after each."""

    def __init__(self, ts_us: int = MONDAY_REGULAR) -> None:
        self.spec = default_spec()
        self.engine = Engine(self.spec)
        self.seq = 0
        self.ts = ts_us
        self.log: list[tuple[int, int, Command]] = []

    def __call__(self, command: Command, dt_us: int = 1000) -> list[Event]:
        self.seq += 1
        self.ts += dt_us
        events = self.engine.apply(command, self.seq, self.ts)
        self.log.append((self.seq, self.ts, command))
        assert not check_invariants(self.engine)
        return events

    def account(self, **funds: int) -> int:
        account = self.engine.next_account_id
        self(CreateAccount(auto_lend=False))
        for asset, atoms in funds.items():
            self(Deposit(account, asset.replace("_", "."), atoms, f"d{self.seq}"))
        return account

    def available(self, account: int, asset: str) -> int:
        return self.engine.ledger.available(account, self.engine.asset_index[asset])


def only(events: list[Event], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def venue() -> Venue:
    return Venue()


def test_await_accept_settles_like_a_book_trade(venue: Venue) -> None:
    taker = venue.account(USDC=10_000 * 10**6)
    maker = venue.account(NVDA_US=100 * 10**6)
    [sub] = only(venue(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", lots=2_000)), RfqSubmitted)  # 2 shares
    assert sub.expiry_us == sub.submitted_us + 30_000_000
    venue(SubmitQuote(maker, sub.rfq_id, bid=17_990, ask=18_010))
    events = venue(AcceptQuote(taker, quote_id=1, rfq_id=sub.rfq_id))
    [fill] = only(events, RfqFilled)
    assert (fill.lots, fill.price, fill.quote_atoms) == (2_000, 18_010, 360_200_000)
    # spot taker/maker fees of the default tier, on what each receives, rounded up
    tier = venue.spec.fee_tiers[0]
    assert fill.requester_fee == -(-2_000_000 * tier.spot_taker_ppm // 10**6)
    assert fill.quoter_fee == -(-360_200_000 * tier.spot_maker_ppm // 10**6)
    assert venue.available(taker, "USDC") == 10_000 * 10**6 - 360_200_000
    assert venue.available(taker, "NVDA.US") == 2_000_000 - fill.requester_fee
    assert venue.available(maker, "USDC") == 360_200_000 - fill.quoter_fee
    assert [e.status for e in only(events, RfqClosed)] == ["Filled"]
    assert all(not r["imbalance"] for r in conservation_report(venue.engine).values())
    # a filled RFQ takes no more quotes or accepts
    assert only(venue(SubmitQuote(maker, sub.rfq_id, bid=1, ask=2)), RfqRejected)[0].reason == "RfqNotFound"


def test_immediate_executes_the_first_quote_within_its_bound(venue: Venue) -> None:
    taker = venue.account(NVDA_US=10 * 10**6)
    maker = venue.account(USDC=10_000 * 10**6)
    [sub] = only(
        venue(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Ask", lots=1_000, price=17_900, mode="Immediate")), RfqSubmitted
    )
    assert not only(venue(SubmitQuote(maker, sub.rfq_id, bid=17_800, ask=18_000)), RfqFilled)  # below the bound
    [fill] = only(venue(SubmitQuote(maker, sub.rfq_id, bid=17_950, ask=18_000)), RfqFilled)
    assert fill.price == 17_950 and fill.side == "Ask"
    assert venue.engine.rfq.rfqs[sub.rfq_id].status == "Filled"
    assert [q.status for q in venue.engine.rfq.quotes.values()] == ["Cancelled", "Filled"]


def test_refusals_change_nothing(venue: Venue) -> None:
    taker = venue.account(USDC=100 * 10**6)
    maker = venue.account(NVDA_US=100 * 10**6)
    poor = venue.account()

    def reason(command: Command) -> str:
        before = venue.engine.rfq.record(), conservation_report(venue.engine)
        [rej] = only(venue(command), RfqRejected)
        assert (venue.engine.rfq.record(), conservation_report(venue.engine)) == before
        return rej.reason

    assert reason(SubmitRfq(taker, "NOPE_USDC", "Bid", lots=1)) == "UnknownMarket"
    assert reason(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid")) == "InvalidQuantity"
    assert (
        reason(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", lots=1, price=100)) == "InvalidOrder"
    )  # price: Immediate only
    assert reason(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", lots=20_000_000)) == "InvalidQuantity"  # > regular max
    [sub] = only(venue(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", lots=1_000, client_id=7)), RfqSubmitted)
    assert reason(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", lots=1_000, client_id=7)) == "DuplicateClientId"
    assert reason(SubmitQuote(taker, sub.rfq_id, bid=1, ask=2)) == "SelfQuote"
    assert reason(SubmitQuote(poor, sub.rfq_id, bid=17_000, ask=18_000)) == "InsufficientFunds"
    assert reason(SubmitQuote(maker, sub.rfq_id, bid=18_100, ask=18_000)) == "InvalidPrice"
    venue(SubmitQuote(maker, sub.rfq_id, bid=17_000, ask=18_000))  # 180 USDC for 1 share; taker has 100
    assert reason(AcceptQuote(taker, quote_id=1)) == "InsufficientFunds"
    assert reason(AcceptQuote(maker, quote_id=1, rfq_id=sub.rfq_id)) == "RfqNotFound"  # not the requester
    assert reason(AcceptQuote(taker, quote_id=99, rfq_id=sub.rfq_id)) == "QuoteNotFound"
    assert venue.engine.rfq.rfqs[sub.rfq_id].status == "New"


def test_quote_quantity_cancel_refresh_and_expiry(venue: Venue) -> None:
    taker = venue.account(USDC=1_000 * 10**6)
    maker = venue.account(NVDA_US=100 * 10**6)
    [sub] = only(venue(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", quote_atoms=500 * 10**6, client_id=1)), RfqSubmitted)
    venue(SubmitQuote(maker, sub.rfq_id, bid=17_000, ask=18_000))
    events = venue(RefreshRfq(taker, sub.rfq_id), dt_us=20_000_000)
    assert [e.status for e in only(events, QuoteClosed)] == ["Cancelled"]  # makers quote anew
    rfq = venue.engine.rfq.rfqs[sub.rfq_id]
    assert rfq.expiry_us == venue.ts + 30_000_000
    venue(SubmitQuote(maker, sub.rfq_id, bid=17_000, ask=18_000))
    [fill] = only(venue(AcceptQuote(taker, quote_id=2, client_id=1)), RfqFilled)
    assert fill.lots == 500 * 10**6 // (18_000 * 10)  # whole lots the budget buys at the quote: 2.777 shares
    [sub2] = only(venue(SubmitRfq(taker, "SOL_USDC", "Bid", lots=10)), RfqSubmitted)  # spot markets too
    assert only(venue(CancelRfq(taker, rfq_id=sub2.rfq_id)), RfqClosed)[0].status == "Cancelled"
    [sub3] = only(venue(SubmitRfq(taker, "SOL_USDC_RFQ", "Bid", lots=10)), RfqSubmitted)
    assert not only(venue(ExpireRfqs(), dt_us=29_000_000), RfqClosed)
    [closed] = only(venue(ExpireRfqs(), dt_us=1_000_000), RfqClosed)
    assert (closed.rfq_id, closed.status) == (sub3.rfq_id, "Expired")


def test_equities_trade_only_inside_their_sessions() -> None:
    spec = default_spec()
    assert spec.calendar is not None
    assert session_at(spec.calendar, MONDAY_REGULAR) == "US_EQUITIES_REGULAR"
    assert session_at(spec.calendar, PRE_MARKET) == "US_EQUITIES_PRE_MARKET"
    assert (
        session_at(spec.calendar, SATURDAY)
        == session_at(spec.calendar, CHRISTMAS)
        == session_at(spec.calendar, NIGHT)
        == ""
    )
    for ts, ok in ((SATURDAY, False), (CHRISTMAS, False), (NIGHT, False), (PRE_MARKET, True)):
        venue = Venue(ts)
        taker = venue.account(USDC=10**9)
        events = venue(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", lots=1_000))
        assert bool(only(events, RfqSubmitted)) == ok
        if not ok:
            assert only(events, RfqRejected)[0].reason == "SessionClosed"
    venue = Venue(PRE_MARKET)
    taker = venue.account(USDC=10**9)
    # TSLA.US lists the regular session only; pre-market limits are smaller than regular ones
    assert (
        only(venue(SubmitRfq(taker, "TSLA.US_USDC_RFQ", "Bid", lots=1_000)), RfqRejected)[0].reason == "SessionClosed"
    )
    assert (
        only(venue(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", lots=2_000_000)), RfqRejected)[0].reason
        == "InvalidQuantity"
    )
    # an RFQ opened in session cannot settle once the session ended (the accept's own time)
    venue = Venue(int(datetime.fromisoformat("2026-12-08T00:59:50+00:00").timestamp()) * 1_000_000)  # 19:59:50 NY
    taker = venue.account(USDC=10**9)
    maker = venue.account(NVDA_US=10**9)
    [sub] = only(venue(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", lots=1_000)), RfqSubmitted)
    venue(SubmitQuote(maker, sub.rfq_id, bid=17_000, ask=18_000))
    assert only(venue(AcceptQuote(taker, quote_id=1), dt_us=15_000_000), RfqRejected)[0].reason == "SessionClosed"


def test_snapshot_and_replay_reproduce_rfq_state(venue: Venue) -> None:
    taker = venue.account(USDC=10_000 * 10**6)
    maker = venue.account(NVDA_US=100 * 10**6)
    venue(SubmitRfq(taker, "NVDA.US_USDC_RFQ", "Bid", lots=2_000))
    venue(SubmitQuote(maker, 1, bid=17_990, ask=18_010))
    venue(AcceptQuote(taker, quote_id=1))
    venue(SubmitRfq(taker, "AAPL.US_USDC_RFQ", "Bid", lots=1_000, client_id=5))
    venue(SubmitQuote(maker, 2, bid=1, ask=2_300_000))
    snap = take_snapshot(venue.engine)
    restored = restore(venue.spec, decode_snapshot(encode_snapshot(snap)))
    assert state_hash(restored) == state_hash(venue.engine)
    nxt = CancelRfq(taker, client_id=5)
    assert restored.apply(nxt, 99, venue.ts + 1) == venue.engine.apply(nxt, 99, venue.ts + 1)
    assert state_hash(restored) == state_hash(venue.engine)
    replayed = Engine(venue.spec)
    for seq, ts, command in venue.log:
        replayed.apply(command, seq, ts)
    replayed.apply(nxt, 99, venue.ts + 1)
    assert state_hash(replayed) == state_hash(venue.engine)
