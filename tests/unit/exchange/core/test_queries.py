"""The read view (rucksack.exchange.core.queries): what it answers after real commands, that reading
changes nothing, and that the reserves nets it takes from the core's valuation equal the plain
per-field sum (available + locked + lend claim - debt, PnL and unsettled in the settlement asset)."""

from __future__ import annotations

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import AddApiKey, CreateAccount, PlaceOrder
from rucksack.exchange.core.events import OrderAccepted, TriggerAccepted
from rucksack.exchange.core.state import state_hash
from tests.unit.exchange.core.perps.helpers import USDC, PerpDriver
from tests.unit.exchange.test_reserves_export import trading_state

PERP = "SOL_USDC_PERP"
KEY = "A" * 43 + "="


def test_orders_by_id_and_client_id_resting_and_triggers() -> None:
    d = PerpDriver()
    d.index("SOL", "150")
    a = d.new_account(USDC=1_000 * USDC)
    b = d.new_account(USDC=1_000 * USDC)
    [rest] = d(PlaceOrder(a, PERP, "Bid", "Limit", lots=100, price=14_000, client_id=5))
    [trig] = d(PlaceOrder(a, PERP, "Bid", "Market", lots=100, trigger_price=16_000, client_id=6))
    [other] = d(PlaceOrder(b, PERP, "Bid", "Market", lots=100, trigger_price=16_500))
    assert isinstance(rest, OrderAccepted) and isinstance(trig, TriggerAccepted)
    engine = d.engine
    order = queries.open_order(engine, rest.order_id)
    assert order is not None and (order.account, order.client_id, order.lots) == (a, 5, 100)
    assert queries.order_id_for_client(engine, a, 5) == rest.order_id
    assert queries.order_id_for_client(engine, a, 6) == trig.order_id
    assert queries.order_id_for_client(engine, b, 5) is None  # client ids are per account
    assert queries.open_order(engine, trig.order_id) is None  # a pending trigger does not rest
    pending = queries.pending_trigger(engine, trig.order_id)
    assert pending is not None and pending.account == a
    assert [t.id for t in queries.pending_triggers(engine, a)] == [trig.order_id]
    assert [t.id for t in queries.pending_triggers(engine)] == [trig.order_id, other.order_id]
    assert list(queries.resting_orders(engine)) == [rest.order_id]
    assert queries.attached_tpsl(engine, rest.order_id) is None
    market = queries.market(engine, PERP)
    assert queries.market_at(engine, market.index) is market and market.is_perp


def test_accounts_keys_and_subaccounts() -> None:
    d = PerpDriver()
    main = d.new_account(USDC=10 * USDC)
    sub = d.engine.next_account_id
    d(CreateAccount("sub", parent=main))
    d(AddApiKey(sub, KEY))
    engine = d.engine
    assert queries.subaccounts(engine, main) == [sub]
    assert queries.owner(engine, sub) == main and queries.owner(engine, main) == main
    assert queries.account_for_key(engine, KEY) == sub and queries.account_for_key(engine, "x") is None
    assert queries.api_keys_by_account(engine)[sub] == [KEY]
    usdc = queries.asset_index(engine, "USDC")
    assert usdc == queries.settle_asset(engine)
    assert queries.available(engine, main, usdc) == 10 * USDC and queries.locked(engine, main, usdc) == 0
    assert queries.net_deposits(engine)[usdc] == 10 * USDC
    assert queries.deposit_seen(engine, f"dep-{main}-USDC")
    nobody = 999_999
    assert queries.account(engine, nobody) is None
    empty = queries.account_or_empty(engine, nobody)
    assert empty.account == nobody and not empty.positions
    assert queries.account(engine, nobody) is None  # the empty account is never inserted
    assert queries.account_nets(engine, nobody) == [0] * len(queries.spec(engine).assets)


def test_reading_every_view_changes_no_state() -> None:
    d, who = trading_state()
    engine = d.engine
    before = state_hash(engine)
    for account in queries.account_ids(engine):
        acct = queries.account_or_empty(engine, account)
        queries.margin(engine, acct)
        queries.collateral(engine, account)
        queries.account_nets(engine, account)
        for i in range(len(queries.pools(engine))):
            queries.max_borrow(engine, acct, i)
            queries.max_withdrawal(engine, acct, i)
        for m in queries.markets(engine):
            queries.max_order_lots(engine, acct, m, is_buy=True, price=0)
            if m.is_perp:
                queries.estimated_liquidation_price(engine, acct, m)
    assert state_hash(engine) == before
    assert who["long"] in queries.account_ids(engine)


def test_account_nets_are_the_plain_per_field_sum() -> None:
    d, _ = trading_state()
    engine = d.engine
    settle = queries.settle_asset(engine)
    pools = queries.pools(engine)
    some_debt = some_pnl = False
    for account in queries.account_ids(engine):
        acct = queries.account(engine, account)
        assert acct is not None
        expect = []
        for i, bal in enumerate(acct.assets):
            pool = pools[i]
            claim = pool.claim(bal.lend_shares) if pool is not None else 0
            debt = pool.debt(bal.borrow_shares) if pool is not None else 0
            expect.append(bal.available + bal.locked + claim - debt)
            some_debt |= debt > 0
        for pos in acct.positions.values():
            m = queries.market_at(engine, pos.market)
            expect[settle] += pos.lots * m.valuation_price() * m.lot_tick_atoms - pos.cost
            some_pnl |= pos.lots != 0
        expect[settle] += acct.unsettled
        assert queries.account_nets(engine, account) == expect, account
    assert some_debt and some_pnl  # the state exercises both
