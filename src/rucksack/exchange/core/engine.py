"""The deterministic exchange state machine: ``Engine.apply(command, seq, ts_us) -> events``.

``Engine`` is the exchange state (``exchange_state.ExchangeState``) plus this module's dispatch
table: each command goes to the one function that handles it, in the module named for what it
does (``orders.placement``, ``orders.cancel``, ``capital``, ``accounts``, ``lending.commands``,
``prices``, ``perps.settlement``, ``perps.funding``, ``liquidation.sweep``, ``rfq``,
``strategies``, ``vaults``, ``growth``). After every command, pending trigger orders and
take-profit/stop-loss parents are checked (``orders.triggers``), and a command that traded hands its
trades to ``growth.observe`` (points volume, referral rebates) while a season or a referral exists.

An expected failure is a rejection event, never an exception; a rejected command changes
nothing. An exception escaping ``apply`` is a bug and the sequencer stops on it.

Determinism: no clock (time arrives as ``ts_us``), no I/O, no randomness, no floats; ids are
sequence counters; iteration only over ordered structures.
"""

from __future__ import annotations

from typing import Final, cast

from rucksack.exchange.core import accounts, alerts, capital, checkpoints, halts, prices
from rucksack.exchange.core.commands import (
    AccrueInterest,
    AddApiKey,
    ApplyFunding,
    BorrowLend,
    CancelAllOrders,
    CancelOrder,
    Command,
    ConvertDust,
    CreateAccount,
    Deposit,
    LiquidationSweep,
    PlaceOrder,
    PlaceOrders,
    PublishCheckpoint,
    RemoveApiKey,
    ResolveAlert,
    SetBackstopProvider,
    SetFeeTier,
    SetIndexPrice,
    SetMarketStatus,
    SettlePnl,
    Transfer,
    UpdateAccount,
    Withdraw,
)
from rucksack.exchange.core.compliance import dispatch as compliance
from rucksack.exchange.core.compliance.checks import order_refusal
from rucksack.exchange.core.compliance.commands import COMPLIANCE_COMMANDS
from rucksack.exchange.core.conversion import convert_dust
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import BorrowLendRejected, Event, OrderRejected
from rucksack.exchange.core.exchange_state import ExchangeState
from rucksack.exchange.core.growth import handlers as growth
from rucksack.exchange.core.growth.commands import GROWTH_COMMANDS
from rucksack.exchange.core.lending.commands import accrue, borrow_lend
from rucksack.exchange.core.liquidation.sweep import sweep
from rucksack.exchange.core.markets import MAX_BATCH
from rucksack.exchange.core.orders.cancel import cancel, cancel_all
from rucksack.exchange.core.orders.placement import command_fields, has_trigger, place
from rucksack.exchange.core.orders.triggers import after_command
from rucksack.exchange.core.orders.triggers import place as place_with_triggers
from rucksack.exchange.core.perps.funding import apply_funding
from rucksack.exchange.core.perps.settlement import settle_pnl
from rucksack.exchange.core.premarket import handlers as premarket
from rucksack.exchange.core.premarket.commands import PREMARKET_COMMANDS
from rucksack.exchange.core.rfq import handlers as rfq
from rucksack.exchange.core.rfq.commands import RFQ_COMMANDS
from rucksack.exchange.core.strategies import handlers as strategies
from rucksack.exchange.core.strategies.commands import STRATEGY_COMMANDS
from rucksack.exchange.core.tiers import handlers as tiers
from rucksack.exchange.core.tiers.commands import TIER_COMMANDS
from rucksack.exchange.core.vaults import handlers as vaults
from rucksack.exchange.core.vaults.commands import VAULT_COMMANDS
from rucksack.exchange.core.vaults.handlers import VAULT_HALTED

# The two commands that make up most of the traffic are dispatched by exact type against Final
# names (C statics when compiled): no globals-dict lookup and no isinstance() protocol for them
# (~470 instructions per command; docs/performance.md). Commands are exact msgspec types.
PLACE_ORDER: Final = PlaceOrder
CANCEL_ORDER: Final = CancelOrder


class Engine(ExchangeState):
    """The exchange state plus the command dispatch. See the module docstring."""

    def apply(self, command: Command, seq: int, ts_us: int) -> list[Event]:
        """Apply one stamped command and return the events it produced."""
        events: list[Event] = []
        self.events = events
        first_trade = self.next_trade_id
        self.last_seq = seq
        self.last_ts_us = ts_us
        cls = type(command)
        if cls is PLACE_ORDER:
            self._place_one(cast(PlaceOrder, command), ts_us)
        elif cls is CANCEL_ORDER:
            cancel(self, cast(CancelOrder, command))
        elif isinstance(command, PlaceOrder):
            self._place_one(command, ts_us)
        elif isinstance(command, CancelOrder):
            cancel(self, command)
        elif isinstance(command, PlaceOrders):
            if len(command.orders) > MAX_BATCH:
                for order in command.orders:
                    events.append(OrderRejected(order.account, order.market, order.client_id, Reason.BATCH_TOO_LARGE))
            else:
                for order in command.orders:
                    self._place_one(order, ts_us)
        elif isinstance(command, CancelAllOrders):
            cancel_all(self, command)
        elif isinstance(command, Deposit):
            capital.deposit(self, command)
        elif isinstance(command, Withdraw):
            capital.withdraw(self, command)
        elif isinstance(command, SetFeeTier):
            accounts.set_fee_tier(self, command)
        elif isinstance(command, CreateAccount):
            accounts.create_account(self, command)
        elif isinstance(command, AddApiKey):
            accounts.add_api_key(self, command)
        elif isinstance(command, BorrowLend):
            refused = premarket.borrow_refusal(self, command.account) if command.side == "Borrow" else ""
            if refused:  # an isolated pre-market subaccount never borrows (core.premarket)
                events.append(BorrowLendRejected(command.account, command.asset, command.side, command.amount, refused))
            else:
                borrow_lend(self, command)
        elif isinstance(command, AccrueInterest):
            accrue(self, command)
        elif isinstance(command, SetIndexPrice):
            prices.set_index(self, command)
        elif isinstance(command, Transfer):
            capital.transfer(self, command)
        elif isinstance(command, UpdateAccount):
            accounts.update_account(self, command)
        elif isinstance(command, SetBackstopProvider):
            accounts.set_backstop(self, command)
        elif isinstance(command, SettlePnl):
            settle_pnl(self)
        elif isinstance(command, ApplyFunding):
            prices.refresh_marks(self)
            apply_funding(self, command.hour)
        elif isinstance(command, LiquidationSweep):
            prices.refresh_marks(self)
            sweep(self)
        elif isinstance(command, RemoveApiKey):
            accounts.remove_api_key(self, command)
        elif isinstance(command, SetMarketStatus):
            halts.set_status(self, command)
        elif isinstance(command, ResolveAlert):
            alerts.resolve(self, command)
        elif isinstance(command, COMPLIANCE_COMMANDS):
            compliance.apply(self, command)
        elif isinstance(command, RFQ_COMMANDS):
            rfq.apply(self, command, ts_us)
        elif isinstance(command, ConvertDust):
            convert_dust(self, command)
        elif isinstance(command, STRATEGY_COMMANDS):
            strategies.apply(self, command, ts_us)
        elif isinstance(command, TIER_COMMANDS):
            tiers.apply(self, command)
        elif isinstance(command, GROWTH_COMMANDS):
            growth.apply(self, command)
        elif isinstance(command, VAULT_COMMANDS):
            vaults.apply(self, command, ts_us)
        elif isinstance(command, PREMARKET_COMMANDS):
            premarket.apply_command(self, command)
        elif isinstance(command, PublishCheckpoint):
            checkpoints.publish(self, command)
        else:  # pragma: no cover - the decoder only yields known commands
            raise TypeError(f"unknown command {type(command).__name__}")
        if self.triggers or self.tpsl:
            after_command(self, ts_us)
        if self.next_trade_id != first_trade and self.growth.active:  # trades earn points and rebates (core.growth)
            growth.observe(self, events)
        return events

    def _place_one(self, c: PlaceOrder, ts_us: int) -> None:
        m = self.market_by_symbol.get(c.market)
        if m is not None and not self.market_status.is_open(m.index):  # halted or delisted
            self.events.append(OrderRejected(c.account, c.market, c.client_id, halts.refusal(self, m)))
            return
        if self.halted_vaults and not c.reduce_only and c.account in self.halted_vaults:
            self.events.append(OrderRejected(c.account, c.market, c.client_id, VAULT_HALTED))
            return  # a halted vault only reduces its positions (core.vaults)
        refused = order_refusal(self, c)  # region, product and level (core/compliance)
        if not refused and self.premarkets.markets and m is not None:
            # isolated margin (core.premarket): only a pre-market's orders and subaccounts' can be refused
            acct = self.ledger.accounts.get(c.account)
            if acct is not None and (acct.parent or m.spec.premarket is not None):
                refused = premarket.order_refusal(self, c.account, m)
        if refused:
            self.events.append(OrderRejected(c.account, c.market, c.client_id, refused))
            return
        fields = command_fields(c)  # read once, for the trigger check and the placement
        if has_trigger(fields):
            place_with_triggers(self, c, ts_us)
        else:
            place(self, c, ts_us, fields=fields)
