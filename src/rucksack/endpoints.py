"""Where the command line finds the exchange and the devnet: one setting each, read once.

``RUCKSACK_URL`` is the exchange's base URL for every command that talks to it (``rucksack
sandbox``, ``rucksack operator``, and the wallet's exchange commands: ``exchange-signup``,
``exchange-balance``, ``deposit``, ``withdraw``, ``trade``, ...); ``RUCKSACK_DEVNET`` is the
devnet's base URL for every wallet command that reaches a chain. Unset, they are where ``make run``
serves (``make run PORT=... DEVNET_PORT=...`` moves them: export the matching variable once). A
flag on the command line (``--url``, ``--exchange``, ``--devnet``) still wins for that one command.
"""

from __future__ import annotations

import os

DEFAULT_EXCHANGE = os.environ.get("RUCKSACK_URL") or "http://127.0.0.1:8000"
DEFAULT_DEVNET = os.environ.get("RUCKSACK_DEVNET") or "http://127.0.0.1:8899"
EXCHANGE_HELP = f"the exchange's base URL (default: $RUCKSACK_URL, else {DEFAULT_EXCHANGE})"
DEVNET_HELP = f"the devnet's base URL; chains at URL/<chain> (default: $RUCKSACK_DEVNET, else {DEFAULT_DEVNET})"
