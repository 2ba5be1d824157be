"""Fee-tier commands (journaled like every command; ``core.commands.Command`` includes them).

``RecomputeFeeTiers`` carries the UTC day it recomputes for (days since the epoch): the scheduler
reads the clock, the core never does. VIP levels are tier indexes (VIP 0 is the first tier).
"""

from __future__ import annotations

import msgspec


class RecomputeFeeTiers(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The day boundary: every owner's volume tier from the 30 days before ``day``; a day at or
    before the last recomputed one changes nothing (idempotent, so a restart never recomputes
    twice)."""

    day: int


class GrantNftVip(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """``account`` proved that ``address`` holds token ``token_id`` of the designated collection
    (signature and ``ownerOf`` checked outside the core): its owner gets the spec's NFT VIP level.
    One token earns one owner the perk: another owner's proof of the same token lapses."""

    account: int
    address: str
    token_id: int


class LapseNftVip(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The scheduler saw ``token_id`` leave ``address``: the perk of the owner holding that proof
    lapses (a stale proof, one already replaced, changes nothing)."""

    account: int
    address: str
    token_id: int


TierCommand = RecomputeFeeTiers | GrantNftVip | LapseNftVip
TIER_COMMANDS = (RecomputeFeeTiers, GrantNftVip, LapseNftVip)
