"""Affiliates: referral codes, the tie of a referred account to its referrer, and rebates.

- A top-level account creates one code (4-16 of A-Z, 0-9; unique). An account that signs up
  with a code (``CreateAccount.referral_code``) is tied to the code's account for good; an unknown
  code refuses the sign-up. A subaccount shares its main account's referrer: a code at subaccount
  creation is refused, as ``SelfReferral`` when it is the owner's own (or a linked owner's) code.
- The referrer earns ``rate`` (its operator-approved rate, else the standard
  ``referral_rate_ppm``, 10%) of each fee the referred account (and its subaccounts) pays on a
  book trade: ``earned = fee value x rate`` kept exactly in micro-atoms (settlement atoms x
  10**6). A fee charged in the base asset (a spot buy) is valued at the trade price, rounded
  down; the liquidation penalty and negative (rebate) fees count as nothing. No rebate accrues
  while referrer and referred owners are linked by surveillance (a referral ring of one owner).
- ``PayAffiliates`` (Friday 02:00 UTC) moves ``floor(owed / 10**6)`` settlement atoms from the fee
  account to each referrer, in account order; the remainder below an atom stays owed. So the
  exchange never pays more than the exact entitlement (rounding in its favour), and the payout
  comes out of the fee income: a transfer between two ledger accounts, conservation holds. When
  the fee account holds less, that referrer's payout waits for the next week.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from rucksack.exchange.core.growth.book import Referral
from rucksack.exchange.core.growth.commands import CreateReferralCode, PayAffiliates, SetAffiliateRate
from rucksack.exchange.core.growth.events import (
    AffiliatePaid,
    AffiliatePayoutDeferred,
    AffiliateRateSet,
    GrowthRejected,
    ReferralCodeCreated,
    ReferralTied,
)
from rucksack.exchange.core.growth.spec import DISTRIBUTION_DELAY_US, MAX_RATE_PPM, WEEK_US
from rucksack.exchange.core.ledger import plan
from rucksack.exchange.core.numeric import PPM

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState

INVALID_CODE: Final = "InvalidReferralCode"
CODE_TAKEN: Final = "ReferralCodeTaken"
HAS_CODE: Final = "ReferralCodeExists"
UNKNOWN_CODE: Final = "UnknownReferralCode"
SELF_REFERRAL: Final = "SelfReferral"
SUBACCOUNT: Final = "ReferralSubaccount"
INVALID_RATE: Final = "InvalidAffiliateRate"
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def valid_code(code: str) -> bool:
    return 4 <= len(code) <= 16 and all(ch in _ALPHABET for ch in code)


def create_code(s: ExchangeState, c: CreateReferralCode) -> None:
    book = s.growth
    reason = ""
    if s.owner(c.account) != c.account:
        reason = "UnknownAccount"
    elif not valid_code(c.code):
        reason = INVALID_CODE
    elif c.account in book.code_of:
        reason = HAS_CODE
    elif c.code in book.code_owner:
        reason = CODE_TAKEN
    if reason:
        s.events.append(GrowthRejected("CreateReferralCode", c.account, reason))
        return
    book.code_owner[c.code] = c.account
    book.code_of[c.account] = c.code
    s.events.append(ReferralCodeCreated(c.account, c.code))


def signup_refusal(s: ExchangeState, code: str, parent: int) -> str:
    """Why an account signing up with ``code`` (a subaccount of ``parent`` when nonzero) is
    refused, or "" when it may."""
    book = s.growth
    referrer = book.code_owner.get(code)
    if referrer is None:
        return UNKNOWN_CODE
    if parent:
        owner = s.owner(parent)
        return SELF_REFERRAL if book.root(owner) == book.root(referrer) else SUBACCOUNT
    return ""


def tie(s: ExchangeState, account: int, code: str) -> None:
    """Tie the new top-level ``account`` to the owner of ``code`` (checked by ``signup_refusal``)."""
    book = s.growth
    referrer = book.code_owner[code]
    book.referrals[account] = Referral(referrer, s.last_ts_us)
    book.active = True
    s.events.append(ReferralTied(account, referrer, code))


def set_rate(s: ExchangeState, c: SetAffiliateRate) -> None:
    if s.owner(c.account) != c.account or not -1 <= c.rate_ppm <= MAX_RATE_PPM:
        reason = INVALID_RATE if s.owner(c.account) == c.account else "UnknownAccount"
        s.events.append(GrowthRejected("SetAffiliateRate", c.account, reason))
        return
    if c.rate_ppm < 0:
        s.growth.rates.pop(c.account, None)
    else:
        s.growth.rates[c.account] = c.rate_ppm
    s.events.append(AffiliateRateSet(c.account, c.rate_ppm))


def rate_of(s: ExchangeState, referrer: int) -> int:
    return s.growth.rates.get(referrer, s.spec.growth.referral_rate_ppm)


def on_fee(s: ExchangeState, owner: int, fee_value: int, volume: int) -> None:
    """A fee of ``fee_value`` settlement atoms paid by ``owner`` on ``volume`` of qualifying volume."""
    book = s.growth
    referral = book.referrals.get(owner)
    if referral is None or book.root(owner) == book.root(referral.referrer):
        return
    referral.volume += volume
    if fee_value <= 0:
        return
    earned = fee_value * rate_of(s, referral.referrer)
    referral.fees += fee_value
    referral.earned_micro += earned
    book.owed[referral.referrer] = book.owed.get(referral.referrer, 0) + earned


def pay(s: ExchangeState, c: PayAffiliates) -> None:
    book = s.growth
    if c.week_end_us % WEEK_US or s.last_ts_us < c.week_end_us + DISTRIBUTION_DELAY_US:
        s.events.append(GrowthRejected("PayAffiliates", 0, "PointsNotDue"))
        return
    if c.week_end_us <= book.last_payout_us:
        s.events.append(GrowthRejected("PayAffiliates", 0, "PointsAlreadyDone"))
        return
    book.last_payout_us = c.week_end_us
    usdc = s.settle_asset
    fees = s.ledger.account(s.fee_account).assets[usdc]
    for referrer, owed in sorted(book.owed.items()):
        amount = owed // PPM
        if not amount:
            continue
        if fees.available < amount:
            s.events.append(AffiliatePayoutDeferred(referrer, amount, c.week_end_us))
            continue
        p = plan.Plan()
        p.available(fees, -amount)
        p.available(s.ledger.account(referrer).assets[usdc], amount)
        plan.apply(s.ledger, p)
        book.owed[referrer] = owed - amount * PPM
        book.paid[referrer] = book.paid.get(referrer, 0) + amount
        s.events.append(AffiliatePaid(referrer, amount, c.week_end_us))
