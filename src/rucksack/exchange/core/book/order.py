"""Resting-order and price-level records.

An :class:`Order` sits in exactly one :class:`Level` while it rests, linked into the level's
FIFO (``prev``/``next``), so cancel is O(1) and the book never holds dead entries. ``hold`` is
the amount of the held asset (quote for bids, base for asks) still locked in the ledger for this
order; the engine keeps it equal to what the remaining quantity needs. A resting perp order holds
no funds: its ``hold`` is its remaining lots as counted in the position's open buys or sells.

``acct`` is the owner's ledger account (the object, so settling a fill or releasing a hold needs
no lookup by account id) and ``id_box`` the order id as a Python int created once: compiled, an
``int`` field is a machine word that would be boxed anew each time it is used as a dict key or an
event field (docs/performance.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rucksack.exchange.core.ledger.balances import Account


class Order:
    __slots__ = (
        "account",
        "acct",
        "auto_repay",
        "client_id",
        "fill_lots",
        "filled_lots",
        "filled_quote",
        "hold",
        "id",
        "id_box",
        "is_limit",
        "level",
        "lots",
        "market",
        "next",
        "orig_lots",
        "post_only",
        "prev",
        "price",
        "quote_atoms",
        "reduce_only",
        "side",
        "stp",
        "tif",
        "ts_us",
    )

    def __init__(
        self,
        order_id: int,
        account: int,
        market: int,
        side: int,
        price: int,
        lots: int,
        client_id: int,
        tif: int,
        stp: int,
        post_only: bool,
        is_limit: bool,
        quote_atoms: int,
        ts_us: int,
        acct: Account | None = None,
    ) -> None:
        self.id = order_id
        self.id_box: Any = order_id  # boxed once (see the module docstring)
        self.acct = acct
        self.account = account
        self.market = market
        self.side = side
        self.price = price
        self.lots = lots  # remaining lots
        self.orig_lots = lots
        self.filled_lots = 0
        self.filled_quote = 0
        self.hold = 0
        self.client_id = client_id
        self.tif = tif
        self.stp = stp
        self.post_only = post_only
        self.is_limit = is_limit
        self.quote_atoms = quote_atoms
        self.ts_us = ts_us
        self.reduce_only = False
        self.auto_repay = False  # proceeds repay the owner's borrow of the received asset
        self.fill_lots = 0  # lots taken by the current match (scratch, not state)
        self.prev: Order | None = None
        self.next: Order | None = None
        self.level: Level | None = None


class Level:
    """One price's FIFO; ``key`` is its key in the book side's dict, boxed once."""

    __slots__ = ("count", "head", "key", "lots", "price", "tail")

    def __init__(self, price: int, key: Any = None) -> None:
        self.price = price
        self.key: Any = price if key is None else key
        self.lots = 0
        self.count = 0
        self.head: Order | None = None
        self.tail: Order | None = None
