"""What the fee-tier commands do, and the one function fills call to count volume.

A rejected command emits its rejection and changes nothing. Tier changes are applied to every
account of an owner in ascending account order, each with its ``AccountTierChanged``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.tiers.book import WINDOW_DAYS, NftHolding
from rucksack.exchange.core.tiers.commands import GrantNftVip, LapseNftVip, RecomputeFeeTiers, TierCommand
from rucksack.exchange.core.tiers.events import (
    AccountTierChanged,
    FeeTiersRecomputed,
    NftVipGranted,
    NftVipLapsed,
    NftVipRejected,
)
from rucksack.exchange.core.tiers.volume import flush

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState
    from rucksack.exchange.core.ledger.balances import Account
    from rucksack.exchange.core.markets import FeeTier


def volume_tier(tiers: list[FeeTier], spot: int, futures: int) -> int:
    """The highest tier the volumes reach (module docstring of ``tiers.book``)."""
    best = 0
    for i, t in enumerate(tiers[1:], start=1):
        if (t.spot_volume and spot >= t.spot_volume) or (t.futures_volume and futures >= t.futures_volume):
            best = i
    return best


def levels(s: ExchangeState, owner: int) -> tuple[int, int, int]:
    """(volume tier, operator VIP level, NFT VIP level) of ``owner``."""
    book = s.tiers
    nft = min(s.spec.nft_vip_level, len(s.fee_tiers) - 1) if owner in book.nft else 0
    return book.volume_tier.get(owner, 0), book.vip.get(owner, 0), nft


def _apply(s: ExchangeState, accounts: list[Account]) -> int:
    """Put each account on its owner's tier; return how many moved."""
    moved = 0
    for acct in accounts:
        vol, vip, nft = levels(s, acct.parent or acct.account)
        tier = max(vol, vip, nft)
        if acct.tier != tier:
            acct.tier = tier
            s.events.append(AccountTierChanged(acct.account, tier, vol, vip, nft))
            moved += 1
    return moved


def apply_owner(s: ExchangeState, owner: int) -> None:
    """Re-derive the tier of ``owner`` and its subaccounts after one of its levels changed."""
    accounts = s.ledger.accounts
    _apply(s, [accounts[a] for a in sorted(accounts) if a == owner or accounts[a].parent == owner])


def recompute(s: ExchangeState, c: RecomputeFeeTiers) -> None:
    book = s.tiers
    if c.day <= book.day:
        return
    accounts = s.ledger.accounts
    for a in sorted(accounts):  # the fills' day counters into the book first (tiers.volume)
        flush(book, accounts[a])
    book.day = c.day
    book.prune(c.day)
    tiers = s.fee_tiers
    book.volume_tier = {}
    for owner in sorted(book.volume):
        tier = volume_tier(tiers, *book.window(owner, c.day))
        if tier:
            book.volume_tier[owner] = tier
    moved = _apply(s, [accounts[a] for a in sorted(accounts)])
    s.events.append(FeeTiersRecomputed(c.day, moved))


def set_vip(s: ExchangeState, account: int, level: int) -> None:
    """The operator's VIP level for ``account``'s owner (the caller checked ``level``)."""
    owner = s.owner(account)
    if owner < 0:  # a system account or one never opened: itself
        owner = account
        s.ledger.account(account)
    if level:
        s.tiers.vip[owner] = level
    else:
        s.tiers.vip.pop(owner, None)
    apply_owner(s, owner)


def grant_nft(s: ExchangeState, c: GrantNftVip) -> None:
    owner = s.owner(c.account)
    if owner < 0:
        s.events.append(NftVipRejected(c.account, Reason.UNKNOWN_ACCOUNT))
        return
    holding = NftHolding(c.address, c.token_id)
    for other in sorted(s.tiers.nft):  # one token earns one owner the perk: the latest proof wins
        if other != owner and s.tiers.nft[other].token_id == c.token_id:
            _lapse(s, other)
    s.tiers.nft[owner] = holding
    s.events.append(NftVipGranted(owner, c.address, c.token_id, min(s.spec.nft_vip_level, len(s.fee_tiers) - 1)))
    apply_owner(s, owner)


def lapse_nft(s: ExchangeState, c: LapseNftVip) -> None:
    owner = s.owner(c.account)
    if owner < 0 or s.tiers.nft.get(owner) != NftHolding(c.address, c.token_id):
        return  # a stale lapse: the proof was replaced or already lapsed
    _lapse(s, owner)


def _lapse(s: ExchangeState, owner: int) -> None:
    holding = s.tiers.nft.pop(owner)
    s.events.append(NftVipLapsed(owner, holding.address, holding.token_id))
    apply_owner(s, owner)


def apply(s: ExchangeState, command: TierCommand) -> None:
    if isinstance(command, RecomputeFeeTiers):
        recompute(s, command)
    elif isinstance(command, GrantNftVip):
        grant_nft(s, command)
    else:
        lapse_nft(s, command)


class TierStatus(NamedTuple):
    """What the account endpoint shows: the tier in force and why, and the volume the next day
    boundary will count (the 30 days up to and including ``today``)."""

    owner: int
    tier: int
    volume_tier: int
    vip: int
    nft: int
    nft_holding: NftHolding | None
    spot_volume: int
    futures_volume: int
    recomputed_day: int


def status(s: ExchangeState, account: int, today: int) -> TierStatus:
    owner = s.owner(account)
    if owner < 0:
        owner = account
    acct = s.ledger.accounts.get(account)
    vol, vip, nft = levels(s, owner)
    spot, futures = s.tiers.window(owner, today + 1)
    for a in s.ledger.accounts.values():  # the fills' day counters not yet in the book
        if (a.parent or a.account) == owner and today - WINDOW_DAYS < a.vol_day <= today:
            spot += a.vol_spot
            futures += a.vol_futures
    return TierStatus(
        owner=owner,
        tier=acct.tier if acct is not None else 0,
        volume_tier=vol,
        vip=vip,
        nft=nft,
        nft_holding=s.tiers.nft.get(owner),
        spot_volume=spot,
        futures_volume=futures,
        recomputed_day=s.tiers.day,
    )
