"""What the wallet shows before it signs, and the rule that refuses flagged transactions.

A ``Review`` is built from a *simulation* of the exact signed transaction (never from what a dApp
or a caller claims it does): per-account, per-asset balances before and after, the network fee,
and ``Flag``s for what the wallet cannot vouch for:

- ``unknown-program`` / ``unknown-contract``: code the wallet does not understand runs.
- ``approval``: someone else gets the right to move the user's tokens (SPL Approve, ERC-20
  approve/increaseAllowance, setApprovalForAll, permit).
- ``authority-change``: ownership of an account or contract moves (SPL SetAuthority, System
  Assign, a token account whose owner/delegate/close authority changes, transferOwnership,
  EIP-7702 delegation).
- ``contract-deployment``: creating a contract.

``enforce`` refuses a review with flags unless the caller passes an explicit override, and always
refuses one whose simulation failed (it would fail on chain, or the wallet cannot say what it does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UNKNOWN_PROGRAM = "unknown-program"
UNKNOWN_CONTRACT = "unknown-contract"
APPROVAL = "approval"
AUTHORITY_CHANGE = "authority-change"
CONTRACT_DEPLOYMENT = "contract-deployment"


def format_units(amount: int, decimals: int) -> str:
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    if not decimals:
        return f"{sign}{whole}"
    text = f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".")
    return sign + text


def parse_units(text: str, decimals: int) -> int:
    """Exact decimal string -> integer units; refuses more fraction digits than ``decimals``."""
    text = text.strip()
    if not text or text.startswith("-"):
        raise ValueError(f"amount must be a positive decimal, got {text!r}")
    whole, _, frac = text.partition(".")
    if not (whole or frac) or not (whole or "0").isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"not a decimal amount: {text!r}")
    if len(frac) > decimals:
        raise ValueError(f"{text} has more than {decimals} decimal places")
    units: int = int(whole or "0") * 10**decimals + int((frac or "0").ljust(decimals, "0"))
    if units <= 0:
        raise ValueError("amount must be more than zero")
    return units


@dataclass(frozen=True, slots=True)
class Change:
    account: str  # the wallet/owner address whose balance moves
    asset: str  # symbol when known (SOL, ETH, USDC), else the mint/contract address
    before: int
    after: int
    decimals: int
    note: str = ""  # e.g. "token account <address>", "rent for a new account"

    @property
    def delta(self) -> int:
        return self.after - self.before

    def text(self) -> str:
        d = self.delta
        sign = "+" if d > 0 else ""
        note = f"  ({self.note})" if self.note else ""
        return f"{self.account}  {sign}{format_units(d, self.decimals)} {self.asset}{note}"

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "asset": self.asset,
            "before": str(self.before),
            "after": str(self.after),
            "delta": format_units(self.delta, self.decimals),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Flag:
    kind: str
    detail: str

    def text(self) -> str:
        return f"[{self.kind}] {self.detail}"


@dataclass
class Review:
    chain: str
    ok: bool  # the simulation succeeded
    error: str | None
    changes: list[Change] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    fee: int = 0  # network fee in native units (SVM: exact; EVM: estimate at the current base fee)
    max_fee: int = 0  # EVM: gas limit x max fee per gas (the most it can cost); SVM: = fee
    fee_included: bool = True  # SVM: the fee is inside ``changes``; EVM: it is shown apart
    native_symbol: str = ""
    native_decimals: int = 0
    logs: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [f"Simulated on {self.chain}: " + ("ok" if self.ok else f"FAILED: {self.error}")]
        lines.append("Balance changes:" if self.changes else "Balance changes: none")
        lines += [f"  {c.text()}" for c in self.changes if c.delta]
        where = "included above" if self.fee_included else "not included above"
        fee = format_units(self.fee, self.native_decimals)
        cap = "" if self.max_fee == self.fee else f", at most {format_units(self.max_fee, self.native_decimals)}"
        lines.append(f"Network fee: {fee}{cap} {self.native_symbol} ({where})")
        if self.flags:
            lines.append("WARNINGS (refused unless you override):")
            lines += [f"  {f.text()}" for f in self.flags]
        return "\n".join(lines)

    def delta(self, account: str, asset: str) -> int:
        return sum(c.delta for c in self.changes if c.account == account and c.asset == asset)

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "simulation": "ok" if self.ok else "failed",
            "error": self.error,
            "changes": [c.to_json() for c in self.changes if c.delta],
            "fee": format_units(self.fee, self.native_decimals),
            "maxFee": format_units(self.max_fee, self.native_decimals),
            "feeIncludedInChanges": self.fee_included,
            "flags": [{"kind": f.kind, "detail": f.detail} for f in self.flags],
        }


class Refused(Exception):
    def __init__(self, review: Review, why: str) -> None:
        super().__init__(why)
        self.review = review


def enforce(review: Review, *, allow_flagged: bool = False) -> None:
    if not review.ok:
        raise Refused(review, f"simulation failed, not signing: {review.error}")
    if review.flags and not allow_flagged:
        kinds = ", ".join(sorted({f.kind for f in review.flags}))
        raise Refused(review, f"refused: {kinds} (pass the explicit override to sign anyway)")
