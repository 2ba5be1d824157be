"""Command line for hardware devices (being written; registers its subcommands here)."""

from __future__ import annotations

from typing import Any


def add_parser(wsub: Any, common: Any) -> None:
    """Add ``rucksack wallet device ...`` subcommands to ``wsub``."""
