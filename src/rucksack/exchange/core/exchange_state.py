"""The exchange's whole state: what every command reads and changes, and nothing else.

Layering (each layer calls only the ones below it, through public functions):

1. ``ExchangeState`` (this module): markets and books, the ledger, lending pools, order and
   client-id indexes, trigger orders, counters, the clock of the current command and the list
   its events go to.
2. Balance operations: every balance change is a ``ledger.plan.Plan`` of signed deltas, checked
   as a whole and applied all or nothing (fills excepted, for speed: ``ledger.balances``);
   ``ledger.operations``: redeem, borrow, lend, repay, auto-lend, auto-repay, shortfall cover;
   pre-trade margin checks (``risk.checks``).
3. Orders (``orders``): placement in stages, settlement of fills, cancels, triggers.
4. Settlement, funding (``perps``) and liquidation (``liquidation``) on top.

``Engine`` (``engine.py``) is this state plus the command dispatch table. Nothing here does I/O,
reads a clock or draws randomness; every container is iterated in a deterministic order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.compliance.state import ComplianceState
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.growth.book import GrowthBook
from rucksack.exchange.core.ledger.balances import Ledger
from rucksack.exchange.core.lending.pool import Pool
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.market_status import MarketStatusBook
from rucksack.exchange.core.markets import FIRST_USER_ACCOUNT, ExchangeSpec, FeeTier, validate_spec
from rucksack.exchange.core.premarket.book import PreMarketBook, start
from rucksack.exchange.core.rfq.book import RfqBook
from rucksack.exchange.core.risk.margin import MarginCalc
from rucksack.exchange.core.strategies.book import StrategyBook
from rucksack.exchange.core.tiers.book import TierBook
from rucksack.exchange.core.vaults.book import VaultBook

if TYPE_CHECKING:
    from rucksack.exchange.core.orders.placement import Placement
    from rucksack.exchange.core.orders.triggers import Trigger


class ExchangeState:
    """All exchange state. Read it freely; change it only through the operation modules."""

    def __init__(self, spec: ExchangeSpec) -> None:
        validate_spec(spec)
        self.spec = spec
        self.asset_index: dict[str, int] = {a.symbol: i for i, a in enumerate(spec.assets)}
        self.markets: list[MarketState] = [
            MarketState(i, m, self.asset_index[m.base], self.asset_index[m.quote]) for i, m in enumerate(spec.markets)
        ]
        self.market_by_symbol: dict[str, MarketState] = {m.symbol: m for m in self.markets}
        self.ledger = Ledger(len(spec.assets))
        self.fee_account = spec.fee_account
        self.fee_tiers: list[FeeTier] = list(spec.fee_tiers)
        self.spot_maker_ppm: list[int] = [t.spot_maker_ppm for t in spec.fee_tiers]
        self.spot_taker_ppm: list[int] = [t.spot_taker_ppm for t in spec.fee_tiers]
        self.orders: dict[int, Order] = {}
        self.client_orders: dict[int, int] = {}  # client_key(account, client_id) -> order id
        self.deposit_ids: set[str] = set()
        self.next_account_id = FIRST_USER_ACCOUNT
        self.api_keys: dict[str, int] = {}  # base64 ED25519 public key -> account
        self.pools: list[Pool | None] = [Pool(a.lending) if a.lending is not None else None for a in spec.assets]
        self.last_accrual_hour = -1  # hours since the epoch; -1: the first tick only sets the clock
        self.next_order_id = 1
        self.next_trade_id = 1
        self.last_seq = 0
        self.last_ts_us = 0
        self.events: list[Event] = []  # the current command's events
        # scratch of the placement being matched (orders.placement), reused: not state
        self.fills: list[Order] = []
        self.stp_expired: list[Order] = []
        self.placement: Placement | None = None
        self.ledger.account(self.fee_account)
        self.risk = spec.risk
        self.ledger.account(self.risk.liquidity_fund_account)
        self.ledger.account(self.risk.settlement_account)
        self.settle_asset = self.asset_index[spec.settlement_asset]
        self.futures_maker_ppm: list[int] = [t.futures_maker_ppm for t in spec.fee_tiers]
        self.futures_taker_ppm: list[int] = [t.futures_taker_ppm for t in spec.fee_tiers]
        self.margin = MarginCalc(spec, self.markets, self.pools)
        self.backstop: list[int] = []  # backstop liquidity providers, ascending ids
        self.last_funding_hour = -1  # like last_accrual_hour: the first tick only sets the clock
        self.liquidation_fee_ppm = 0  # set while a liquidation order executes
        self.triggers: dict[int, Trigger] = {}  # pending trigger orders by id (orders.triggers)
        self.tpsl: dict[int, PlaceOrder] = {}  # resting orders with take-profit/stop-loss attached
        self.market_status = MarketStatusBook(len(self.markets), spec.circuit_breaker)  # open/halted/delisted
        self.compliance = ComplianceState(spec.compliance)  # identities, rules, withdrawal holds
        self.rfq = RfqBook()  # requests for quote, quotes and RFQ fills (core.rfq)
        self.strategies = StrategyBook()  # Scheduled (TWAP) strategies and their orders (core.strategies)
        self.tiers = TierBook()  # 30-day volume, VIP levels, NFT perks (core.tiers)
        self.growth = GrowthBook()  # points seasons and affiliates (core.growth)
        self.growth.active = bool(spec.growth.seasons)
        self.vaults = VaultBook()  # vaults: shares, redemption queues, NAV samples (core.vaults)
        # accounts of halted vaults (derived from ``vaults``, rebuilt at restore): a native set
        # so the order path's check costs nothing while it is empty
        self.halted_vaults: set[int] = set()
        # accounts of exchange-run (protocol) vaults (derived from ``vaults``, rebuilt at restore):
        # they earn no fee-tier volume, no points and pay their referrer nothing (vaults-growth.md §4)
        self.programme_excluded: set[int] = set()
        # pre-market perps (core.premarket): phases and listing averages; their first marks and
        # their spot markets' "not listed yet" status are set by premarket.book.start
        self.premarkets = PreMarketBook([m.symbol for m in spec.markets if m.premarket is not None])
        start(self.markets, self.market_status)

    def owner(self, account: int) -> int:
        """The top-level account owning ``account`` (itself when it is not a subaccount)."""
        acct = self.ledger.accounts.get(account)
        if acct is None or account < FIRST_USER_ACCOUNT or account >= self.next_account_id:
            return -1
        return acct.parent or account

    def seconds_left_in_hour(self) -> int:
        """Seconds from the current command's time to the next whole hour (borrow entry fees)."""
        return 3600 - (self.last_ts_us // 1_000_000) % 3600

    def held(self, asset: int) -> int:
        """Atoms of ``asset`` the exchange holds: all deposits minus all withdrawals."""
        return self.ledger.deposited[asset] - self.ledger.withdrawn[asset]


def client_key(account: int, client_id: int) -> int:
    """The key of ``client_orders``: the account and its 32-bit client order id in one int."""
    return (account << 32) | client_id
