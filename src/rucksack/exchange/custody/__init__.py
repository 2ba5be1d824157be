"""Exchange custody: the exchange's own keys and its traffic with the chains.

- ``seed``         the exchange HD seed, encrypted at rest in the data directory (Argon2id +
                   XChaCha20-Poly1305); password from ``RUCKSACK_CUSTODY_PASSWORD`` or, in sandbox
                   mode, a random key file created 0600 beside it
- ``keys``         deterministic deposit addresses (one per account per chain) and the hot wallet
- ``db``           ``custody.sqlite``: issued addresses, chain deposits seen, withdrawals and their
                   broadcast state, scan cursors
- ``rpc``          a small async JSON-RPC client (the same calls work on the devnet and a real node)
- ``watchers``     per-chain deposit watchers: find transfers to deposit addresses, wait the
                   confirmations, submit idempotent ``Deposit`` commands keyed by chain and tx id
- ``withdrawals``  validate a withdrawal request, sign with the hot key, broadcast, track to
                   ``confirmed`` or refund the held funds
- ``reserves``     on-chain balances of the custody addresses per asset, as reserves holdings, and
                   address-control signatures over the statement's challenge
- ``service``      wires it to the running exchange (``rucksack serve --chain-rpc URL``)

The exchange state (balances, the set of credited tx ids) stays in the journaled core; custody's
own SQLite file only remembers what it saw on chain and what it signed, and every step it takes
from that file is safe to repeat (docs/chains.md, "Exchange custody").
"""
