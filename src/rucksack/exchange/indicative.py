"""Indicative stock prices: one policy shared by ``GET /api/v1/stockIndicativeQuote`` and the
sandbox's RFQ makers (``makers``), so an Immediate RFQ bounded by the indicative price fills.

The price is the reference (``queries.rfq_reference_price``: the last RFQ fill, else the
configured reference) moved ``SPREAD_PPM`` against the requester, rounded to the tick in the
exchange's favour: a buyer's price up, a seller's down. It is not a promise.
"""

from __future__ import annotations

from rucksack.exchange.core.numeric import PPM, ceil_div

SPREAD_PPM = 1_000  # 10 bp either side of the reference


def indicative_price(reference: int, side: str) -> int:
    """The indicative price (ticks) for a requester on ``side`` (``Bid`` buys, ``Ask`` sells)."""
    if side == "Bid":
        return ceil_div(reference * (PPM + SPREAD_PPM), PPM)
    return max(1, reference * (PPM - SPREAD_PPM) // PPM)
