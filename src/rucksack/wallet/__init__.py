"""Rucksack's self-custodial wallet: keys, an encrypted keystore, balances and sends on the seven
chains, simulation before every signature, and domain-separated message signing.

- ``keys``       the one secret (mnemonic or imported key), derivation schemes, account refs
- ``keystore``   Argon2id + XChaCha20-Poly1305 file, lock/auto-lock, Ethereum keystore v3 export
- ``rpc``        a small synchronous JSON-RPC client (any endpoint; the devnet by default)
- ``recovery``   scan legacy derivation paths for accounts with balances or history
- ``svm``/``evm`` balances, transfers, and the pre-sign review (simulated balance changes + flags)
- ``review``     what a review shows and the refusal rule (flags need an explicit override)
- ``messages``   off-chain message signing: Solana off-chain header, EIP-191, EIP-712
- ``backup``     SLIP-39 2-of-3 shares of the mnemonic's entropy
- ``exchange_link`` exchange API key (derived/imported), signed HTTP client, deposit/withdraw/reserves
- ``cli``        ``rucksack wallet ...``

Rule: nothing here imports ``rucksack.exchange`` (tests/test_architecture.py, import-linter); the
wallet talks to chains through ``rucksack.chains`` and to the exchange only over its public API.
"""
