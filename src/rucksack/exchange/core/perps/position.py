"""One account's net position in one perpetual market.

Units: ``lots`` is signed (long > 0); ``cost`` and ``entry_cost`` are signed settlement atoms.

- ``cost`` is the cash-flow basis since the last settlement: every fill adds ``lots * price *
  lot_tick_atoms`` (negative for sells) and settlement resets it to ``lots * mark * lta`` after
  moving ``lots * mark * lta - cost`` (the unrealized PnL) into the account's unsettled balance.
  Because every fill adds the same amount to the buyer's cost as it takes from the seller's,
  the costs of all positions in a market sum to the backstop fund's gains only (see
  ``invariants``); realized PnL is zero-sum.
- ``entry_cost`` is the notional at average entry of the open position (display only): it grows
  with fills that add to the position, shrinks pro rata (rounded toward zero) with fills that
  reduce it, and restarts at the fill price when the position flips.
- ``open_buys``/``open_sells`` are the lots of the account's resting orders in the market; the
  exposure used for margin is ``max(|lots + open_buys|, |lots - open_sells|)`` (FTX's rule, §14.2).
"""

from __future__ import annotations


class Position:
    __slots__ = (
        "cost",
        "entry_cost",
        "fees",
        "funding",
        "lots",
        "market",
        "open_buys",
        "open_sells",
        "realized",
        "reduce_only",
    )

    def __init__(self, market: int) -> None:
        self.market = market
        self.lots = 0
        self.cost = 0
        self.entry_cost = 0
        self.open_buys = 0
        self.open_sells = 0
        self.realized = 0  # PnL moved into unsettled by settlement, cumulative
        self.funding = 0  # funding received (negative: paid), cumulative
        self.fees = 0  # trading and liquidation fees paid on this position, cumulative
        self.reduce_only: list[int] = []  # ids of resting reduce-only orders

    def apply_fill(self, lots: int, notional: int) -> None:
        """Add a fill of signed ``lots`` whose signed notional is ``notional`` settlement atoms."""
        old = self.lots
        new = old + lots
        self.cost += notional
        if old == 0 or (old > 0) == (lots > 0):
            self.entry_cost += notional
        elif abs(lots) <= abs(old):
            kept = abs(new)
            entry = self.entry_cost
            self.entry_cost = entry * kept // abs(old) if entry >= 0 else -(-entry * kept // abs(old))
        else:
            # flipped: the remainder opened at this fill's price
            self.entry_cost = (
                notional * abs(new) // abs(lots) if notional >= 0 else -(-notional * abs(new) // abs(lots))
            )
        self.lots = new

    def exposure_lots(self, add_buys: int = 0, add_sells: int = 0) -> int:
        lots = self.lots
        up = lots + self.open_buys + add_buys
        down = lots - self.open_sells - add_sells
        up = up if up >= 0 else -up
        down = down if down >= 0 else -down
        return up if up > down else down

    def is_empty(self) -> bool:
        return (
            self.lots == 0 and self.cost == 0 and self.open_buys == 0 and self.open_sells == 0 and not self.reduce_only
        )
