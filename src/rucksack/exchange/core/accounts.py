"""Account commands: subaccounts, settings (leverage, auto-lend/realize/borrow/repay), fee
tiers, backstop providers and API keys. A refused command emits its rejection and changes
nothing; lowering the leverage limit is refused when it would leave available equity < 0."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from rucksack.exchange.core.commands import (
    AddApiKey,
    CreateAccount,
    RemoveApiKey,
    SetBackstopProvider,
    SetFeeTier,
    UpdateAccount,
)
from rucksack.exchange.core.compliance import checks as compliance
from rucksack.exchange.core.compliance.rules import LENDING, LEVELS
from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.events import (
    AccountCreated,
    AccountRejected,
    AccountUpdated,
    ApiKeyAdded,
    ApiKeyRejected,
    ApiKeyRemoved,
    BackstopProviderSet,
    FeeTierRejected,
    FeeTierSet,
)
from rucksack.exchange.core.growth import affiliates
from rucksack.exchange.core.ledger.operations import auto_lend
from rucksack.exchange.core.markets import FIRST_USER_ACCOUNT
from rucksack.exchange.core.risk.checks import has_exposure
from rucksack.exchange.core.tiers import handlers as tiers

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def set_fee_tier(s: ExchangeState, c: SetFeeTier) -> None:
    if not 0 <= c.tier < len(s.fee_tiers):
        s.events.append(FeeTierRejected(c.account, c.tier, Reason.UNKNOWN_FEE_TIER))
        return
    tiers.set_vip(s, c.account, c.tier)
    s.events.append(FeeTierSet(c.account, c.tier))


def create_account(s: ExchangeState, c: CreateAccount) -> None:
    if c.parent and s.owner(c.parent) != c.parent:
        s.events.append(AccountRejected(c.parent, Reason.UNKNOWN_ACCOUNT))
        return
    refused = "" if c.parent else compliance.signup_refusal(s, c.region, c.level)
    if not refused and c.referral_code:  # unknown code, or one owner's own (core.growth.affiliates)
        refused = affiliates.signup_refusal(s, c.referral_code, c.parent)
    if refused:  # sign-up from a refused region (or a bad region code) opens nothing
        s.events.append(AccountRejected(0, refused))
        return
    account = s.next_account_id
    s.next_account_id = account + 1
    acct = s.ledger.account(account)
    acct.parent = c.parent
    if c.parent:  # a subaccount pays its owner's tier (core.tiers)
        acct.tier = s.ledger.accounts[c.parent].tier
    acct.auto_lend = c.auto_lend  # on by default, as on Backpack: idle funds earn the lend rate
    if c.region and not c.parent:
        compliance.set_identity(s, account, LEVELS.index(c.level or "none"), c.region)
    else:
        compliance.inherit(s, account, c.parent)
    s.events.append(AccountCreated(account, c.label, c.parent))
    if c.referral_code:
        affiliates.tie(s, account, c.referral_code)


def update_account(s: ExchangeState, c: UpdateAccount) -> None:
    acct = s.ledger.accounts.get(c.account)
    if acct is None or s.owner(c.account) < 0:
        s.events.append(AccountRejected(c.account, Reason.UNKNOWN_ACCOUNT))
        return
    lev = c.leverage_limit
    if lev is not None and not 1 <= lev <= s.risk.max_leverage:
        s.events.append(AccountRejected(c.account, Reason.INVALID_SETTING))
        return
    refused = compliance.leverage_refusal(s, c.account, lev) if lev is not None else ""
    if not refused and c.auto_lend:
        refused = compliance.product_refusal(s, c.account, LENDING)
    if refused:  # the region's leverage cap, or lending not offered (core/compliance)
        s.events.append(AccountRejected(c.account, refused))
        return
    if lev is not None and lev != acct.leverage_limit and has_exposure(s, acct):
        old = acct.leverage_limit
        acct.leverage_limit = lev
        r = s.margin.compute(acct)
        if r.equity - r.im < 0 and lev < (old or s.risk.max_leverage):
            acct.leverage_limit = old
            s.events.append(AccountRejected(c.account, Reason.INSUFFICIENT_MARGIN))
            return
    if lev is not None:
        acct.leverage_limit = lev
    if c.auto_lend is not None:
        enabling = c.auto_lend and not acct.auto_lend
        acct.auto_lend = c.auto_lend
        if enabling:
            for i in range(len(acct.assets)):
                auto_lend(s, acct, i)
    if c.auto_realize_pnl is not None:
        acct.auto_realize_pnl = c.auto_realize_pnl
    if c.auto_borrow_settlements is not None:
        acct.auto_borrow_settlements = c.auto_borrow_settlements
    if c.auto_repay_borrows is not None:
        acct.auto_repay_borrows = c.auto_repay_borrows
    s.events.append(
        AccountUpdated(
            c.account,
            acct.auto_lend,
            acct.auto_realize_pnl,
            acct.auto_borrow_settlements,
            acct.auto_repay_borrows,
            acct.leverage_limit or s.risk.max_leverage,
        )
    )


def set_backstop(s: ExchangeState, c: SetBackstopProvider) -> None:
    if s.owner(c.account) < 0:
        s.events.append(AccountRejected(c.account, Reason.UNKNOWN_ACCOUNT))
        return
    if c.enabled and c.account not in s.backstop:
        s.backstop.append(c.account)
        s.backstop.sort()
    elif not c.enabled and c.account in s.backstop:
        s.backstop.remove(c.account)
    s.events.append(BackstopProviderSet(c.account, c.enabled))


def add_api_key(s: ExchangeState, c: AddApiKey) -> None:
    key = c.public_key
    if not FIRST_USER_ACCOUNT <= c.account < s.next_account_id:
        s.events.append(ApiKeyRejected(c.account, key, Reason.UNKNOWN_ACCOUNT))
    elif not _is_base64_key(key):
        s.events.append(ApiKeyRejected(c.account, key, Reason.INVALID_KEY))
    elif key in s.api_keys:
        s.events.append(ApiKeyRejected(c.account, key, Reason.DUPLICATE_KEY))
    else:
        s.api_keys[key] = c.account
        s.events.append(ApiKeyAdded(c.account, key))


def remove_api_key(s: ExchangeState, c: RemoveApiKey) -> None:
    if s.api_keys.get(c.public_key) != c.account:
        s.events.append(ApiKeyRejected(c.account, c.public_key, Reason.UNKNOWN_KEY))
    else:
        del s.api_keys[c.public_key]
        s.events.append(ApiKeyRemoved(c.account, c.public_key))


_B64: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _is_base64_key(key: str) -> bool:
    """Standard base64 of 32 bytes: 43 alphabet characters and one '=' (the last holding 4 zero bits)."""
    return len(key) == 44 and key[43] == "=" and all(ch in _B64 for ch in key[:43]) and key[42] in "AEIMQUYcgkosw048"
