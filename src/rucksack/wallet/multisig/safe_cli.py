"""Command line for this multisig backend (being written; registers its subcommands here)."""

from __future__ import annotations

from typing import Any


def add_parser(wsub: Any, common: Any) -> None:
    """Add this backend's ``rucksack wallet ...`` subcommands to ``wsub``."""
