"""2-of-3 multisig: SPL Token multisig on Solana/Eclipse (``spl``), Safe on the EVM chains (``safe``).

The chain enforces the threshold; this package builds, collects signatures for and submits
transactions, and never decides on its own that a signature set is enough.
"""
