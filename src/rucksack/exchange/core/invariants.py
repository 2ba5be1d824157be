"""Invariant checks over a whole engine; tests run them after every command.

- conservation per asset: all accounts' available + locked == deposited - withdrawn;
- no negative balance;
- no crossed book at rest (best bid < best ask);
- level totals and counts equal their linked orders; every resting order is indexed and every
  indexed order rests at the level of its price on its own side;
- each account's locked balance per asset equals the holds of its resting orders, and each
  resting order's hold equals exactly what its remaining lots need (a perp order's hold is its
  remaining lots, and a position's open buys/sells equal its resting orders' lots);
- perps: long and short lots balance in every market, open interest equals the long lots, and
  the settlement pot equals the sum of unsettled balances minus the sum of position costs (so
  realized PnL, fees and funding are zero-sum);
- trigger orders: pending ids are issued and never also resting, client ids indexed, TP/SL
  parents still resting;
- RFQs (``rfq.book.check``): the open list, one fill per filled RFQ, no open quote on a closed
  RFQ. RFQs hold no funds between commands, so conservation and holds need nothing more.
"""

from __future__ import annotations

from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.premarket import book as premarket_book
from rucksack.exchange.core.rfq import book as rfq_book
from rucksack.exchange.core.strategies import book as strategy_book
from rucksack.exchange.core.tiers import book as tier_book
from rucksack.exchange.core.vaults import book as vault_book


def conservation_report(engine: Engine) -> dict[str, dict[str, int]]:
    """Per asset: held by accounts (users and system) versus net inflow (deposits - withdrawals)."""
    ledger = engine.ledger
    report: dict[str, dict[str, int]] = {}
    for i, asset in enumerate(engine.spec.assets):
        held = sum(a.assets[i].available + a.assets[i].locked for a in ledger.accounts.values())
        fees = ledger.accounts[engine.fee_account].assets[i]
        pool = engine.pools[i]
        cash = pool.cash if pool is not None else 0
        held += cash
        report[asset.symbol] = {
            "accounts": held - cash - fees.available - fees.locked,
            "fees": fees.available + fees.locked,
            "lending_pool": cash,
            "deposited": ledger.deposited[i],
            "withdrawn": ledger.withdrawn[i],
            "imbalance": held - (ledger.deposited[i] - ledger.withdrawn[i]),
        }
    return report


def check_invariants(engine: Engine) -> list[str]:
    """Return a description of every violated invariant (empty when all hold)."""
    problems: list[str] = []
    for asset, row in conservation_report(engine).items():
        if row["imbalance"]:
            problems.append(f"conservation broken for {asset}: {row}")
    n = engine.ledger.n_assets
    expected_locked: dict[int, list[int]] = {}
    for account, acct in engine.ledger.accounts.items():
        for i, bal in enumerate(acct.assets):
            if bal.available < 0 or bal.locked < 0:
                problems.append(f"negative balance: account {account} asset {i}")
        expected_locked[account] = [0] * n
    seen: set[int] = set()
    expected_open: dict[tuple[int, int], list[int]] = {}
    for m in engine.markets:
        bid, ask = m.bids.best_price(), m.asks.best_price()
        if bid and ask and bid >= ask:
            problems.append(f"{m.symbol}: crossed book {bid} >= {ask}")
        for book, side in ((m.bids, 0), (m.asks, 1)):
            if len(book.keys) != len(book.levels):
                problems.append(f"{m.symbol}: keys and levels disagree")
            levels = book.iter_levels()
            if book.best_level is not (levels[0] if levels else None):
                problems.append(f"{m.symbol}: cached best level is stale")
            for level in book.iter_levels():
                lots = count = 0
                order = level.head
                while order is not None:
                    lots += order.lots
                    count += 1
                    seen.add(order.id)
                    if order.side != side or order.price != level.price or order.level is not level:
                        problems.append(f"{m.symbol}: order {order.id} misplaced")
                    if engine.orders.get(order.id) is not order:
                        problems.append(f"{m.symbol}: resting order {order.id} not indexed")
                    if order.lots <= 0:
                        problems.append(f"{m.symbol}: empty order {order.id} rests")
                    if m.is_perp:
                        need = order.lots
                        key = (order.account, m.index)
                        opens = expected_open.setdefault(key, [0, 0])
                        opens[side] += order.lots
                    else:
                        need = order.lots * order.price * m.lot_tick_atoms if side == 0 else order.lots * m.lot_atoms
                        held_asset = m.quote if side == 0 else m.base
                        expected_locked.setdefault(order.account, [0] * n)[held_asset] += order.hold
                    if order.hold != need:
                        problems.append(f"{m.symbol}: order {order.id} holds {order.hold}, needs {need}")
                    order = order.next
                if lots != level.lots or count != level.count or count == 0:
                    problems.append(f"{m.symbol}: level {level.price} totals disagree")
    if seen != set(engine.orders):
        problems.append("order index and book disagree")
    for i, pool in enumerate(engine.pools):
        lend = sum(a.assets[i].lend_shares for a in engine.ledger.accounts.values())
        borrow = sum(a.assets[i].borrow_shares for a in engine.ledger.accounts.values())
        if pool is None:
            if lend or borrow:
                problems.append(f"asset {i}: positions without a lending market")
            continue
        if lend != pool.lend_shares or borrow != pool.borrow_shares:
            problems.append(
                f"asset {i}: account shares {lend}/{borrow} != pool {pool.lend_shares}/{pool.borrow_shares}"
            )
        if not pool.is_solvent() or pool.cash < 0:
            problems.append(f"asset {i}: lending pool insolvent")
    for account, acct in engine.ledger.accounts.items():
        locked = [b.locked for b in acct.assets]
        if locked != expected_locked.get(account, [0] * n):
            problems.append(f"account {account}: locked {locked} != order holds {expected_locked[account]}")
    problems.extend(_perp_problems(engine, expected_open))
    for client_key, order_id in engine.client_orders.items():
        order = engine.orders.get(order_id)
        trigger = engine.triggers.get(order_id)
        owner_key = -1
        if order is not None:
            owner_key = (order.account << 32) | order.client_id
        elif trigger is not None:
            owner_key = (trigger.account << 32) | trigger.client_id
        if owner_key != client_key:
            problems.append(f"client id index entry {client_key} is stale")
    problems.extend(_trigger_problems(engine))
    problems.extend(rfq_book.check(engine.rfq))
    problems.extend(strategy_book.check(engine.strategies))
    problems.extend(tier_book.check(engine.tiers, len(engine.fee_tiers), engine.ledger.accounts.values()))
    problems.extend(vault_book.check(engine.vaults))
    problems.extend(vault_book.check_halted(engine.vaults, engine.halted_vaults))
    problems.extend(vault_book.check_excluded(engine.vaults, engine.programme_excluded))
    problems.extend(premarket_book.check(engine.premarkets))
    return problems


def _trigger_problems(engine: Engine) -> list[str]:
    """Pending triggers: ids unique (never also resting), issued, owned by a known account, in
    their own market; client ids indexed; TP/SL parents still resting."""
    problems: list[str] = []
    for order_id, t in engine.triggers.items():
        if t.id != order_id or order_id in engine.orders or not 0 < order_id < engine.next_order_id:
            problems.append(f"trigger {order_id}: bad id")
        if t.account not in engine.ledger.accounts or engine.markets[t.market].symbol != t.order.market:
            problems.append(f"trigger {order_id}: unknown account or market")
        if t.order.trigger_price != t.price or t.price <= 0 or t.order.lots <= 0:
            problems.append(f"trigger {order_id}: bad trigger price or quantity")
        if t.client_id >= 0 and engine.client_orders.get((t.account << 32) | t.client_id) != order_id:
            problems.append(f"trigger {order_id}: client id not indexed")
    for order_id in engine.tpsl:
        if order_id not in engine.orders:
            problems.append(f"TP/SL parent {order_id} is not resting")
    return problems


def _perp_problems(engine: Engine, expected_open: dict[tuple[int, int], list[int]]) -> list[str]:
    problems: list[str] = []
    accounts = engine.ledger.accounts
    lots = [0] * len(engine.markets)
    longs = [0] * len(engine.markets)
    costs = unsettled = 0
    for account, acct in accounts.items():
        unsettled += acct.unsettled
        for mi, pos in acct.positions.items():
            lots[mi] += pos.lots
            longs[mi] += max(pos.lots, 0)
            costs += pos.cost
            opens = expected_open.pop((account, mi), [0, 0])
            if [pos.open_buys, pos.open_sells] != opens:
                problems.append(f"account {account} market {mi}: open lots {pos.open_buys}/{pos.open_sells} != {opens}")
            for order_id in pos.reduce_only:
                order = engine.orders.get(order_id)
                if order is None or not order.reduce_only or order.account != account:
                    problems.append(f"account {account}: stale reduce-only order {order_id}")
    if any(v != [0, 0] for v in expected_open.values()):
        problems.append(f"resting perp orders without a position: {expected_open}")
    for m in engine.markets:
        if lots[m.index]:
            problems.append(f"{m.symbol}: long and short lots differ by {lots[m.index]}")
        if longs[m.index] != m.open_interest:
            problems.append(f"{m.symbol}: open interest {m.open_interest} != long lots {longs[m.index]}")
    pot = accounts[engine.risk.settlement_account].assets[engine.settle_asset].available
    if pot != unsettled - costs:
        problems.append(f"settlement pot {pot} != unsettled {unsettled} - costs {costs}")
    return problems
