"""What each settlement paid for: Backpack's ``source`` of ``/wapi/v1/history/settlement`` rows.

The engine keeps one signed ``unsettled`` balance per account: perp trading fees, funding and
realized PnL all move it, and every ``SettlePnl`` settles part or all of it against the wallet as
one amount (``PnlSettled.paid``). This read model splits that amount by what produced it, from
the events alone:

- ``TradeExecuted`` on a perp: each side's fee (the taker's liquidation penalty included) is
  ``TradingFees``; the fee account's income ``TradingFeesSystem``; the liquidity fund's penalty
  ``BackstopLiquidityFundProceeds``;
- each holder's hourly funding (the projector's share of ``FundingPaid``, by the engine's own
  rounding) and the fund's rounding dust: ``FundingPayment``;
- ``PnlSettled.realized``: ``RealizePnl``;
- ``LossSocialized`` and ``BadDebt.covered`` (the loss waterfall moving unsettled between accounts):
  ``SystemLiabilityTransfer``;
- anything else that moved an account's unsettled balance (a backstop transfer's price difference
  to the fund) is found at settlement as the difference between the engine's balance before it
  (``PnlSettled.unsettled + paid``) and the sum of the sources here, and attributed to
  ``BackstopLiquidityFundProceeds`` for the fund, ``RealizePnl`` otherwise.

Invariants: per account, the pending amounts by source sum to the engine's unsettled balance
after every ``PnlSettled``; a settlement's rows are integers summing exactly to ``paid``. A partial
settlement (``paid`` short of the balance) takes from each source the floor of its exact share
``pending * paid / balance``, then one more atom each for the sources whose floors dropped the
most (ties in ``SOURCES`` order) until the rows sum to ``paid``: every row is within one atom of
its exact share, and the rest stays pending. Pending amounts are the ``unsettled_sources``
table (reloaded at start-up), so a restart attributes the same way.
"""

from __future__ import annotations

from typing import Final

TRADING_FEES: Final = "TradingFees"
TRADING_FEES_SYSTEM: Final = "TradingFeesSystem"
FUNDING: Final = "FundingPayment"
REALIZE_PNL: Final = "RealizePnl"
FUND_PROCEEDS: Final = "BackstopLiquidityFundProceeds"
LIABILITY_TRANSFER: Final = "SystemLiabilityTransfer"

SOURCES: Final = (TRADING_FEES, TRADING_FEES_SYSTEM, FUNDING, REALIZE_PNL, FUND_PROCEEDS, LIABILITY_TRANSFER)

# the query's SettlementSourceFilter -> the row sources it selects
FILTERS: Final[dict[str, tuple[str, ...]]] = {
    "BackstopLiquidation": (FUND_PROCEEDS, "BackstopProviderLiquidation", "BackstopAdlLiquidation"),
    "CulledBorrowInterest": ("CulledBorrowInterest",),
    "CulledRealizePnl": ("CulledRealizePnlAuto", "CulledRealizePnlAccountThreshold", "CulledRealizePnlSystemThreshold"),
    "CulledRealizePnlBookUtilization": ("CulledRealizePnlBookUtilisation",),
    "FundingPayment": (FUNDING,),
    "RealizePnl": (REALIZE_PNL,),
    "TradingFees": (TRADING_FEES,),
    "TradingFeesSystem": (TRADING_FEES_SYSTEM,),
}

COLUMNS: Final = ("account", "source", "amount")


def split(pending: dict[str, int], paid: int) -> list[tuple[str, int]]:
    """``paid`` (same sign as the pending total, at most as large) shared among the sources:
    integer amounts summing to ``paid``, in ``SOURCES`` order, zeros left out."""
    total = sum(pending.values())
    if not paid:
        return []
    if paid == total:
        return [(s, pending[s]) for s in SOURCES if pending.get(s)]
    shares: dict[str, int] = {}
    fractions: list[tuple[int, int, str]] = []
    for rank, source in enumerate(SOURCES):
        amount = pending.get(source, 0)
        if amount:
            shares[source] = amount * paid // total  # floor of the exact share
            fractions.append((-abs(amount * paid % total), rank, source))  # what the floor dropped
    for _, _, source in sorted(fractions)[: paid - sum(shares.values())]:
        shares[source] += 1
    return [(s, shares[s]) for s in SOURCES if shares.get(s)]


class Attribution:
    """Pending unsettled amounts per account and source; what changed since the last batch."""

    def __init__(self, rows: list[dict[str, object]], fee_account: int, fund_account: int) -> None:
        self.fee_account = fee_account
        self.fund_account = fund_account
        self.pending: dict[int, dict[str, int]] = {}
        for r in rows:
            self.pending.setdefault(int(str(r["account"])), {})[str(r["source"])] = int(str(r["amount"]))
        self.touched: set[int] = set()

    def add(self, account: int, source: str, amount: int) -> None:
        if amount:
            mine = self.pending.setdefault(account, {})
            mine[source] = mine.get(source, 0) + amount
            self.touched.add(account)

    def fees(self, taker: int, maker: int, taker_fee: int, maker_fee: int, penalty: int) -> None:
        """A perp fill's fees (``taker_fee`` includes the liquidation ``penalty``)."""
        self.add(taker, TRADING_FEES, -taker_fee)
        self.add(maker, TRADING_FEES, -maker_fee)
        self.add(self.fee_account, TRADING_FEES_SYSTEM, taker_fee - penalty + maker_fee)
        self.add(self.fund_account, FUND_PROCEEDS, penalty)

    def settle(self, account: int, realized: int, paid: int, after: int) -> list[tuple[str, int]]:
        """A ``PnlSettled``: add the realized PnL and whatever else moved the balance, then take
        ``paid`` out of the pending sources; return the (source, amount) rows."""
        self.add(account, REALIZE_PNL, realized)
        before = after + paid
        residual = before - sum(self.pending.get(account, {}).values())
        self.add(account, FUND_PROCEEDS if account == self.fund_account else REALIZE_PNL, residual)
        rows = split(self.pending.get(account, {}), paid)
        for source, amount in rows:
            self.add(account, source, -amount)
        return rows

    def take(self) -> list[tuple[int, str, int]]:
        """The rows to upsert for the accounts touched since the last call (zero rows included,
        so a settled source's row reads 0)."""
        out = [(a, s, v) for a in sorted(self.touched) for s, v in sorted(self.pending.get(a, {}).items())]
        self.touched.clear()
        return out
