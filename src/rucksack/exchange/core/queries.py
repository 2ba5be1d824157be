"""The read view of the exchange state: what everyone outside the core may ask the engine.

The REST routes, the WebSocket hub, custody, the makers and the reserves export read the
:class:`~rucksack.exchange.core.engine.Engine` only through these functions; this module is the one
place outside the engine's own package that knows the engine's attribute names and how its indexes
are keyed (``client_orders`` by ``account << 32 | client_id``, pools by asset index, ...). When the
core's internals move, this file changes and its callers do not.

**The rule.** Each function takes the engine first and returns either a plain value or one of the
core's own objects (:class:`Account`, :class:`MarketState`, :class:`Order`, :class:`Trigger`,
:class:`Pool`, :class:`Margin`, ...) — no copies, so a read costs nothing on the loop thread.
Callers must not mutate what they get (the engine's state changes only through commands), must not
keep it across an ``await`` and expect it unchanged (the next command may change or drop it), and
must read between commands (the server's loop thread, or an engine recovered read-only). Lists and
dicts that the view builds (``subaccounts``, ``pending_triggers``, ``api_keys_by_account``, ...)
are fresh and the caller's to keep.

Pure and deterministic like the rest of the core: no clock, no I/O; nothing here changes state
(``margin`` refreshes the account's ``risk_cache``, which is a cache, not state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.compliance.state import ComplianceState, Held
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.growth.book import GrowthBook
from rucksack.exchange.core.growth.spec import season_at
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.lending.pool import Pool
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.market_status import DELISTED
from rucksack.exchange.core.markets import ExchangeSpec, FeeTier, MarketSpec
from rucksack.exchange.core.orders.triggers import Trigger
from rucksack.exchange.core.premarket.book import NOT_LISTED_REASON, SETTLED, PreMarket
from rucksack.exchange.core.rfq import handlers
from rucksack.exchange.core.rfq.book import RfqBook
from rucksack.exchange.core.rfq.sessions import session_at
from rucksack.exchange.core.risk import limits
from rucksack.exchange.core.risk.collateral import AccountRisk, account_risk
from rucksack.exchange.core.risk.margin import Margin
from rucksack.exchange.core.strategies.book import StrategyBook
from rucksack.exchange.core.tiers import handlers as tier_handlers
from rucksack.exchange.core.tiers.book import NftHolding
from rucksack.exchange.core.vaults import handlers as vault_handlers
from rucksack.exchange.core.vaults.book import Depositor, Vault, VaultBook

# ------------------------------------------------------------------ the state's clock and spec


def spec(engine: Engine) -> ExchangeSpec:
    return engine.spec


def last_seq(engine: Engine) -> int:
    """The seq of the last command applied (0 before any)."""
    return engine.last_seq


def last_ts_us(engine: Engine) -> int:
    """The timestamp stamped on the last command applied (0 before any)."""
    return engine.last_ts_us


def last_accrual_hour(engine: Engine) -> int:
    """The hour (since the epoch) interest last accrued; -1 before the first tick."""
    return engine.last_accrual_hour


def last_funding_hour(engine: Engine) -> int:
    """The hour (since the epoch) funding was last applied; -1 before the first tick."""
    return engine.last_funding_hour


# ------------------------------------------------------------------ accounts and keys


def account(engine: Engine, account_id: int) -> Account | None:
    """The account, or None when it holds nothing yet (accounts appear on first use)."""
    return engine.ledger.accounts.get(account_id)


def account_or_empty(engine: Engine, account_id: int) -> Account:
    """The account, or a fresh empty one (never inserted) for an account that holds nothing yet."""
    acct = engine.ledger.accounts.get(account_id)
    return acct if acct is not None else Account(account_id, len(engine.spec.assets))


def account_ids(engine: Engine) -> list[int]:
    """Every account that holds or held something, ascending (system accounts included)."""
    return sorted(engine.ledger.accounts)


def subaccounts(engine: Engine, parent: int) -> list[int]:
    """The subaccounts of ``parent``, ascending."""
    return sorted(a for a, acct in engine.ledger.accounts.items() if acct.parent == parent)


def liquidating_accounts(engine: Engine) -> set[int]:
    """The accounts under liquidation now."""
    return {a for a, acct in engine.ledger.accounts.items() if acct.liquidating}


def owner(engine: Engine, account_id: int) -> int:
    """The main account owning ``account_id`` (itself when it is not a subaccount), -1 if none."""
    return engine.owner(account_id)


def account_for_key(engine: Engine, api_key: str) -> int | None:
    """The account an API key (base64 ED25519 public key) signs for, or None."""
    return engine.api_keys.get(api_key)


def api_keys_by_account(engine: Engine) -> dict[int, list[str]]:
    """Every registered key, grouped by the account it signs for, each list sorted."""
    out: dict[int, list[str]] = {}
    for key, acct in engine.api_keys.items():
        out.setdefault(acct, []).append(key)
    return {a: sorted(keys) for a, keys in out.items()}


def available(engine: Engine, account_id: int, asset: int) -> int:
    """Atoms of ``asset`` the account may use now."""
    return engine.ledger.available(account_id, asset)


def locked(engine: Engine, account_id: int, asset: int) -> int:
    """Atoms of ``asset`` held by the account's open orders."""
    return engine.ledger.locked(account_id, asset)


def net_deposits(engine: Engine) -> list[int]:
    """Per asset, ``deposited - withdrawn``: what the ledger says the exchange holds."""
    ledger = engine.ledger
    return [d - w for d, w in zip(ledger.deposited, ledger.withdrawn, strict=True)]


def deposit_seen(engine: Engine, tx_id: str) -> bool:
    """A deposit with this id has been credited (deposits are idempotent by id)."""
    return tx_id in engine.deposit_ids


def backstop_providers(engine: Engine) -> Sequence[int]:
    """The backstop liquidity providers, ascending ids."""
    return engine.backstop


# ------------------------------------------------------------------ markets, assets and pools


def markets(engine: Engine) -> Sequence[MarketState]:
    """Every market, by index."""
    return engine.markets


def market(engine: Engine, symbol: str) -> MarketState:
    """The market named ``symbol`` (KeyError for an unknown one: callers validate symbols first)."""
    return engine.market_by_symbol[symbol]


def market_open(engine: Engine, symbol: str) -> bool:
    """Whether ``symbol`` (a book market) takes new orders now (not halted, delisted or unlisted)."""
    m = engine.market_by_symbol.get(symbol)
    return m is not None and engine.market_status.is_open(m.index)


def market_listed(engine: Engine, symbol: str) -> bool:
    """Whether ``symbol`` has been listed: every market but a pre-market's spot market still
    waiting for its listing (core.premarket)."""
    m = engine.market_by_symbol.get(symbol)
    if m is None:
        return False
    book = engine.market_status
    return not (book.status[m.index] == DELISTED and book.reason[m.index] == NOT_LISTED_REASON)


def market_status(engine: Engine, symbol: str) -> tuple[str, str, int]:
    """``(status, reason, since_us)`` of a market (core.market_status: Open | Halted | Delisted)."""
    book, i = engine.market_status, engine.market_by_symbol[symbol].index
    return book.status[i], book.reason[i], book.since_us[i]


def insurance_fund_account(engine: Engine) -> int:
    """The liquidity (insurance) fund's system account: liquidation fees in, bad debt out."""
    return engine.risk.liquidity_fund_account


def fee_tiers(engine: Engine) -> Sequence[FeeTier]:
    """The fee tiers, by index (``SetFeeTier`` names one)."""
    return engine.fee_tiers


def fee_tier_status(engine: Engine, account_id: int, today: int) -> tier_handlers.TierStatus:
    """An account's fee tier, its levels and its owner's 30-day volume up to ``today`` (UTC day
    number; core.tiers)."""
    return tier_handlers.status(engine, account_id, today)


def fee_tier_day(engine: Engine) -> int:
    """The last UTC day ``RecomputeFeeTiers`` applied (-1: never)."""
    return engine.tiers.day


def nft_holdings(engine: Engine) -> dict[int, NftHolding]:
    """Each owner's NFT proof in force (owner -> address and token id)."""
    return dict(engine.tiers.nft)


def market_at(engine: Engine, index: int) -> MarketState:
    return engine.markets[index]


def asset_index(engine: Engine, symbol: str) -> int:
    return engine.asset_index[symbol]


def settle_asset(engine: Engine) -> int:
    """The index of the settlement asset (USDC)."""
    return engine.settle_asset


def pools(engine: Engine) -> Sequence[Pool | None]:
    """The lending pool of each asset, by asset index (None: the asset cannot be lent)."""
    return engine.pools


def price_market(engine: Engine, asset: int) -> MarketState | None:
    """The market whose index prices ``asset`` against the settlement asset (spot, else perp);
    None for the settlement asset itself and for an asset no market prices."""
    return None if asset == engine.settle_asset else engine.margin.pricers[asset]


# ------------------------------------------------------------------ orders


def open_order(engine: Engine, order_id: int) -> Order | None:
    """The resting order with this id, or None (filled, cancelled, never rested, or a trigger)."""
    return engine.orders.get(order_id)


def resting_orders(engine: Engine) -> Mapping[int, Order]:
    """Every resting order by id (the live truth; projections trail it by a group commit)."""
    return engine.orders


def order_id_for_client(engine: Engine, account_id: int, client_id: int) -> int | None:
    """The id of the account's open order (resting or pending trigger) with this client id."""
    return engine.client_orders.get((account_id << 32) | client_id)


def pending_trigger(engine: Engine, order_id: int) -> Trigger | None:
    """The pending trigger order with this id, or None."""
    return engine.triggers.get(order_id)


def pending_triggers(engine: Engine, account_id: int | None = None) -> list[Trigger]:
    """The pending trigger orders (of ``account_id``, or all), by id."""
    return [t for _, t in sorted(engine.triggers.items()) if account_id is None or t.account == account_id]


def attached_tpsl(engine: Engine, order_id: int) -> PlaceOrder | None:
    """The take-profit/stop-loss request attached to a resting order, if any."""
    return engine.tpsl.get(order_id)


# ------------------------------------------------------------------ margin figures (one valuation)


def margin(engine: Engine, acct: Account) -> Margin:
    """The account's margin now: collateral, liabilities, unrealized PnL, equity, IM, MM."""
    return engine.margin.compute(acct)


def position_limit(engine: Engine, acct: Account, equity: int) -> int:
    """Backpack's ``positionLimit``: the futures notional the account may carry at ``equity``."""
    return engine.margin.position_limit(acct, equity)


def asset_value(engine: Engine, asset: int, atoms: int, *, round_up: bool) -> int:
    """Settlement atoms for ``atoms`` of ``asset`` at its index (debts, ``round_up``: else the
    last trade); 0 for an asset no market prices."""
    return engine.margin.value(asset, atoms, round_up)


def collateral(engine: Engine, account_id: int) -> AccountRisk:
    """The per-asset collateral rows and totals of the margin summary (``risk.collateral``)."""
    return account_risk(engine, account_id)


def account_nets(engine: Engine, account_id: int) -> list[int]:
    """Signed net atoms per asset that the exchange owes the account (negative: the account owes):
    per asset ``available + locked + lend claim - debt`` as the collateral valuation counts it, and
    in the settlement asset also the unsettled balance and the unrealized PnL as the margin
    valuation counts it. No prices: the proof-of-reserves tree carries atoms per asset."""
    acct = engine.ledger.accounts.get(account_id)
    if acct is None:
        return [0] * len(engine.spec.assets)
    index = engine.asset_index
    nets = [0] * len(engine.spec.assets)
    for row in account_risk(engine, account_id).assets:
        nets[index[row.symbol]] = row.total - row.borrowed
    nets[engine.settle_asset] += acct.unsettled + engine.margin.compute(acct).upnl
    return nets


def max_borrow(engine: Engine, acct: Account, asset: int) -> int:
    """Atoms of ``asset`` a new borrow may take now (margin and the pool)."""
    return limits.max_borrow(engine, acct, asset)


def max_withdrawal(engine: Engine, acct: Account, asset: int) -> int:
    """Atoms of ``asset`` that margin lets leave now."""
    return limits.max_withdrawal(engine, acct, asset)


def max_order_lots(
    engine: Engine, acct: Account, m: MarketState, *, is_buy: bool, price: int, may_redeem: bool = False
) -> int:
    """Lots of an order at ``price`` (0: the engine's reference price) the pre-trade rules accept
    (``may_redeem``: the order would carry ``autoLendRedeem``)."""
    if m.is_perp:
        return limits.max_perp_order_lots(engine, acct, m, is_buy, price)
    return limits.max_spot_order_lots(engine, acct, m, is_buy, price, may_redeem)


def spendable(engine: Engine, acct: Account, asset: int) -> int:
    """Available atoms plus, with ``autoLend`` on, what redeeming the lend would free now."""
    return limits.spendable(engine, acct, asset, False)


def borrow_liquidation_price(engine: Engine, acct: Account, asset: int, borrow: int) -> int:
    """The index (ticks of the asset's pricing market) at which the account, after borrowing
    ``borrow`` more atoms of ``asset``, would be liquidated; 0: none."""
    return limits.borrow_liquidation_price(engine, acct, asset, borrow)


def estimated_liquidation_price(engine: Engine, acct: Account, m: MarketState) -> int:
    """The mark price (ticks) at which the account's position in ``m`` would be liquidated; 0: none."""
    return limits.estimated_liquidation_price(engine, acct, m)


# -- compliance (core/compliance) -----------------------------------------------------------------


def compliance(engine: Engine) -> ComplianceState:
    """The compliance state: rules in force, identities, usage, withdrawal holds, operators, audit."""
    return engine.compliance


def operator_roles(engine: Engine, public_key: str) -> list[str] | None:
    """The roles of a registered operator key, or None."""
    return engine.compliance.operators.get(public_key)


def withdrawal_held(engine: Engine, request_id: str) -> Held | None:
    """The held withdrawal with this request id (in its delay or in review), or None."""
    return engine.compliance.held.get(request_id)


# ------------------------------------------------------------------ RFQ (core.rfq)


def rfq_book(engine: Engine) -> RfqBook:
    """Every RFQ, quote and RFQ fill (read only)."""
    return engine.rfq


def rfq_market(engine: Engine, symbol: str) -> MarketSpec | None:
    """The market an RFQ on ``symbol`` trades (an RFQ-only market or a spot market), or None."""
    return handlers.rfq_market(engine, symbol)


def rfq_session(engine: Engine, ts_us: int) -> str:
    """The stock session open at ``ts_us`` ("" closed, or no calendar)."""
    calendar = engine.spec.calendar
    return session_at(calendar, ts_us) if calendar is not None else ""


def rfq_reference_price(engine: Engine, market: str) -> int:
    """A security's reference price (ticks): its last RFQ fill, else the configured one; 0 when
    ``market`` is no security's."""
    book = engine.rfq
    for security in engine.spec.securities:
        if security.market == market:
            return book.last_prices.get(market, security.reference_price)
    return 0


# ------------------------------------------------------------------ strategies (core.strategies)


def strategy_book(engine: Engine) -> StrategyBook:
    """Every Scheduled strategy (running and ended) and the order ids its slices became."""
    return engine.strategies


def strategy_of_order(engine: Engine, order_id: int) -> int:
    """The strategy whose slice order ``order_id`` is, or -1."""
    return engine.strategies.order_strategy.get(order_id, -1)


# ------------------------------------------------------------------ points and affiliates (core.growth)


def growth_book(engine: Engine) -> GrowthBook:
    """Points weeks and seasons, links, referral codes, ties, rates, owed and paid rebates."""
    return engine.growth


def points_season(engine: Engine, ts_us: int) -> int:
    """Index of the points season running at ``ts_us`` (``spec(engine).growth.seasons``), or -1."""
    return season_at(engine.spec.growth, ts_us)


def affiliate_rate(engine: Engine, referrer: int) -> int:
    """The share (ppm) of its referred accounts' fees ``referrer`` earns."""
    return engine.growth.rates.get(referrer, engine.spec.growth.referral_rate_ppm)


# ------------------------------------------------------------------ vaults (core.vaults)


def vault_book(engine: Engine) -> VaultBook:
    """Every vault: its shares by depositor, redemption queue and NAV samples."""
    return engine.vaults


def vault_nav(engine: Engine, vault: Vault) -> int:
    """The vault's NAV now (settlement atoms), by the core's own mark-to-market valuation."""
    return vault_handlers.nav(engine, vault)


def vault_redeem_quote(engine: Engine, vault: Vault, depositor: Depositor, shares: int) -> tuple[int, int, int]:
    """(performance-fee shares, amount paid, basis released) were ``shares`` redeemed now."""
    return vault_handlers.quote(engine, vault, depositor, shares)


def vault_crank_due(engine: Engine, now_us: int) -> bool:
    """Whether a ``CrankVaults`` at ``now_us`` would pay a redemption or take a NAV sample."""
    return vault_handlers.crank_due(engine, now_us)


# ------------------------------------------------------------------ pre-markets (core.premarket)


def premarket(engine: Engine, symbol: str) -> PreMarket | None:
    """A pre-market's phase, listing window, reference average and settlement price (None: not a
    pre-market)."""
    return engine.premarkets.markets.get(symbol)


def premarkets_live(engine: Engine) -> bool:
    """Whether some pre-market is not settled yet (the scheduler cranks them each second)."""
    return any(p.phase != SETTLED for p in engine.premarkets.markets.values())
