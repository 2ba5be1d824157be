"""Compatibility alias: the composition root now lives in :mod:`rucksack.exchange.service`.

Kept only while the route modules and the WebSocket hub (being converted to the read view in
parallel) still import ``ExchangeService`` from here; new code imports
``rucksack.exchange.service``. Delete this module once no ``rucksack.exchange.api`` module names it.
"""

from __future__ import annotations

from rucksack.exchange.service import ExchangeService, ReadModelFailed, admin_token_path

__all__ = ["ExchangeService", "ReadModelFailed", "admin_token_path"]
