"""What produced a fill row, and how Backpack's ``fillType`` filter and ``systemOrderType`` map
onto it: the vocabulary the projector writes (``fills.fill_type``, ``fills.liquidated``), the
stores query and the API answers.

Kinds: a ``User`` row is an order the account placed (and the other side of any order on the
book, a liquidation's included). The liquidation engine's own orders are ``BookLiquidation``
(a perp position's reduce-only slice, stage 1) or ``SpotLiquidation`` (spot collateral sold or a
debt bought back); ``Backstop`` and ``Adl`` are position transfers (stages 2 and 3), one row for
each party under one trade id; ``CollateralConversion`` is settlement selling an owing account's
collateral. ``liquidated`` is 1 on the liquidated account's own rows.

Trade ids: a book fill has the engine's trade id (counted from 1); a transfer's two rows share
``TRANSFER_TRADE_IDS + n``, n = 1, 2, ... in journal order, so the two ranges never meet and every
id is still exact as a JavaScript number (< 2**53).
"""

from __future__ import annotations

# what produced a fill row (``fills.fill_type``); ``fills.liquidated`` is 1 on the liquidated account's side
USER = "User"  # the account's own order, or the other side of a liquidation order on the book
BOOK_LIQUIDATION = "BookLiquidation"  # a perp order the liquidation engine placed for the account
BACKSTOP = "Backstop"  # a position transfer to a backstop provider (both parties' rows)
ADL = "Adl"  # a position transfer to an auto-deleveraged opposing position (both parties' rows)
SPOT_LIQUIDATION = "SpotLiquidation"  # a spot order the liquidation engine placed (debts, collateral)
COLLATERAL_CONVERSION = "CollateralConversion"  # settlement selling collateral for an owing account
LIQUIDATIONS = (BOOK_LIQUIDATION, BACKSTOP, ADL)
# Backpack's ``fillType`` query values -> (the ``fill_type`` rows they select, liquidated side only)
FILL_TYPE_QUERIES: dict[str, tuple[tuple[str, ...], bool]] = {
    "User": ((USER,), False),
    "BookLiquidation": ((BOOK_LIQUIDATION,), True),
    "Backstop": ((BACKSTOP,), False),
    "Adl": ((ADL,), False),
    "Liquidation": (LIQUIDATIONS, True),
    "AllLiquidation": (LIQUIDATIONS, False),
    "CollateralConversion": ((COLLATERAL_CONVERSION,), False),
    "CollateralConversionAndSpotLiquidation": ((COLLATERAL_CONVERSION, SPOT_LIQUIDATION), False),
}
# Backpack's ``systemOrderType`` of each kind of row (None: a user's order)
SYSTEM_ORDER_TYPES: dict[str, str | None] = {
    USER: None,
    BOOK_LIQUIDATION: "LiquidatePositionOnBook",
    BACKSTOP: "LiquidatePositionOnBackstop",
    ADL: "LiquidatePositionOnAdl",
    SPOT_LIQUIDATION: "CollateralConversion",
    COLLATERAL_CONVERSION: "CollateralConversion",
}
# a transfer's fill rows have trade id TRANSFER_TRADE_IDS + n (n = 1, 2, ... in journal order), far
# above any book trade id (the engine counts those from 1) and still exact as a JavaScript number
TRANSFER_TRADE_IDS = 1 << 52
