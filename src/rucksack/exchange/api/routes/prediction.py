"""Prediction markets (backpack-api.md §2.1: ``/api/v1/prediction``, ``/api/v1/prediction/tags``).

Backpack lists these routes (ccxt's implicit API and the SDK call them) but documents no shape.
Rucksack lists no prediction market (``MarketType`` ``PREDICTION``), so both answer an empty JSON
array (docs/api.md says so): the clients' calls succeed and find nothing, rather than a 404.
``symbol`` filters nothing that exists: any value answers ``[]``.
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.service import ExchangeService


async def prediction_markets(service: ExchangeService, params: dict[str, str]) -> Any:
    """The prediction markets (optionally one ``symbol``): none are listed here."""
    return []


async def prediction_tags(service: ExchangeService, params: dict[str, str]) -> Any:
    """The tags prediction markets are grouped by: none, as there are no prediction markets."""
    return []


PUBLIC = {
    ("GET", "/api/v1/prediction"): prediction_markets,
    ("GET", "/api/v1/prediction/tags"): prediction_tags,
}
