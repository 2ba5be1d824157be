"""Vaults: managed accounts whose depositors hold shares (docs/vaults.md).

Read in this order: ``book`` (the state and its invariants), ``commands``, ``events``,
``handlers`` (create, mint, redeem request/cancel, the crank: fees, the redemption queue, NAV
samples).
"""
