"""Fee tiers from rolling volume, operator VIP levels and the NFT holder's perk.

Read in this order: ``book`` (the state: daily volume buckets per owner, the volume tier, the
VIP levels, NFT holdings), ``volume`` (what each fill adds: ``orders.fills``, ``rfq.settle``),
``commands`` and ``events``, ``handlers`` (what each command does). A journaled
``RecomputeFeeTiers`` from the scheduler at each UTC day boundary moves every account to its tier.
"""
