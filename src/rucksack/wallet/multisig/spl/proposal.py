"""Proposals: build one, collect signatures, check it against the chain, execute it, report its status.

Invariants:

- A **proposal** is off chain: one serialized legacy ``Message`` (recent blockhash included), the
  fee payer (the proposer) and the multisig signers the message requires, a human summary, and a
  map ``signer -> signature``. The set of required signers is fixed by the message bytes at
  propose time. Nothing in the file but the message is trusted: ``describe`` re-derives what the
  transaction does from the bytes, every stored signature is verified against those bytes before
  one is added or the transaction is sent (so a message changed after a signature is refused), and
  only a key the message requires may add a signature.
- **Blockhash expiry**: the message carries a recent blockhash; once the cluster forgets it (about
  60-90 s on real networks) the signatures are worthless. ``approve`` and ``execute`` ask the node
  (``isBlockhashValid``) first and refuse with ``ProposalExpired`` ("re-propose"). Durable nonces
  are not used (a nonce account per multisig, and its authority, are left for later).
- The threshold is never decided here: ``missing`` reports which required signatures are absent,
  and the chain decides whether the signer set satisfies the multisig.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solders.instruction import Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID

from rucksack.chains.addresses import validate_svm_address
from rucksack.chains.registry import get_chain
from rucksack.chains.svm.transfers import decompile
from rucksack.wallet import svm
from rucksack.wallet.keystore import atomic_write
from rucksack.wallet.multisig.spl.build import mint_decimals, payout_instructions, resolve_mint
from rucksack.wallet.multisig.spl.chain import blockhash_valid, onchain_multisig
from rucksack.wallet.multisig.spl.descriptor import (
    TOKEN_ACCOUNT_LEN,
    VERSION,
    Descriptor,
    MissingSignatures,
    MultisigError,
    NotASigner,
    ProposalExpired,
    ProposalTampered,
    _pk,
    _read_json,
)
from rucksack.wallet.multisig.spl.words import _asset_name
from rucksack.wallet.review import format_units
from rucksack.wallet.rpc import Rpc, RpcError
from rucksack.wallet.send import Prepared
from rucksack.wallet.signers import SvmSigner

PROPOSAL_FORMAT = "rucksack-spl-multisig-proposal"
_SEED_PREFIX = "rucksack-"


# -- proposals ----------------------------------------------------------------------------------


def default_signers(desc: Descriptor, proposer: str) -> list[str]:
    """The proposer (if an owner) and the owners after it, in descriptor order, up to the threshold."""
    owners = list(desc.signers)
    start = owners.index(proposer) if proposer in owners else 0
    return [owners[(start + i) % len(owners)] for i in range(desc.threshold)]


@dataclass
class Proposal:
    """One transaction waiting for signatures. Only ``message`` and ``signatures`` are binding."""

    chain: str
    multisig: str
    threshold: int
    message: Message
    summary: str
    signatures: dict[str, str] = field(default_factory=dict)

    @property
    def message_bytes(self) -> bytes:
        return bytes(self.message)

    @property
    def fee_payer(self) -> str:
        return str(self.message.account_keys[0])

    def required(self) -> list[str]:
        """Every key the message requires a signature from (fee payer first), in message order."""
        return [str(k) for k in self.message.account_keys[: self.message.header.num_required_signatures]]

    def _multisig_transfers(self) -> list[Instruction]:
        """The message's SPL ``TransferChecked`` instructions that list multisig signers."""
        return [
            ix
            for ix in decompile(self.message)
            if ix.program_id == TOKEN_PROGRAM_ID and ix.data[:1] == bytes([12]) and len(ix.accounts) > 4
        ]

    def multisig_signers(self) -> list[str]:
        """The keys listed as multisig signers in the message's SPL instructions."""
        out: list[str] = []
        for ix in self._multisig_transfers():
            out += [str(m.pubkey) for m in ix.accounts[4:] if str(m.pubkey) not in out]
        return out

    def check_authority(self) -> None:
        """Every multisig-signed transfer in the message is authorised by this file's multisig."""
        for ix in self._multisig_transfers():
            if str(ix.accounts[3].pubkey) != self.multisig:
                raise ProposalTampered(
                    f"the message spends with authority {ix.accounts[3].pubkey}, not {self.multisig}"
                )

    def missing(self) -> list[str]:
        return [k for k in self.required() if k not in self.signatures]

    def verify(self) -> None:
        """Every stored signature is by a required key and verifies over the message bytes."""
        data, required = self.message_bytes, set(self.required())
        for key, sig in self.signatures.items():
            if key not in required:
                raise ProposalTampered(f"signature by {key}, which the message does not require")
            try:
                ok = Signature.from_string(sig).verify(Pubkey.from_string(key), data)
            except ValueError:
                ok = False
            if not ok:
                raise ProposalTampered(
                    f"the signature by {key} does not verify: the message changed after it was signed "
                    "(or the signature is forged); refusing the proposal"
                )

    def sign(self, signer: SvmSigner) -> str:
        """Verify what is there, then add ``signer``'s signature over the message bytes."""
        self.verify()
        key = str(signer.pubkey())
        if key not in self.required():
            raise NotASigner(f"{key} is not a signer this proposal requires ({', '.join(self.required())})")
        sig = signer.sign_message(self.message_bytes)
        if not sig.verify(signer.pubkey(), self.message_bytes):
            raise MultisigError(f"the signer for {key} returned a signature that does not verify")
        self.signatures[key] = str(sig)
        return str(sig)

    def merge(self, other: Proposal) -> None:
        """Add the signatures of a copy signed elsewhere: same message bytes, every signature valid."""
        if other.message_bytes != self.message_bytes or other.chain != self.chain:
            raise MultisigError("not the same proposal: the messages differ")
        self.verify()
        other.verify()
        self.signatures = {k: (self.signatures.get(k) or other.signatures[k]) for k in self.required()
                           if k in self.signatures or k in other.signatures}  # fmt: skip

    def transaction(self) -> VersionedTransaction:
        self.verify()
        if self.missing():
            raise MissingSignatures(self.missing())
        sigs = [Signature.from_string(self.signatures[k]) for k in self.required()]
        return VersionedTransaction.from_legacy(Transaction.populate(self.message, sigs))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PROPOSAL_FORMAT,
            "version": VERSION,
            "chain": self.chain,
            "multisig": self.multisig,
            "threshold": self.threshold,
            "feePayer": self.fee_payer,
            "signers": self.multisig_signers(),
            "summary": self.summary,
            "message": base64.b64encode(self.message_bytes).decode(),
            "signatures": dict(self.signatures),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Proposal:
        if doc.get("format") != PROPOSAL_FORMAT or doc.get("version") != VERSION:
            raise MultisigError(f"not a {PROPOSAL_FORMAT} v{VERSION} file")
        try:
            message = Message.from_bytes(base64.b64decode(doc["message"], validate=True))
        except (ValueError, TypeError) as exc:
            raise MultisigError(f"the proposal's message does not decode: {exc}") from None
        sigs = doc.get("signatures") or {}
        if not isinstance(sigs, dict):
            raise MultisigError("signatures must be an object {signer: signature}")
        p = cls(
            doc["chain"], validate_svm_address(doc["multisig"]), int(doc["threshold"]), message, str(doc["summary"])
        )
        p.signatures = {str(k): str(v) for k, v in sigs.items()}
        if doc.get("feePayer") != p.fee_payer or list(doc.get("signers", [])) != p.multisig_signers():
            raise ProposalTampered("the file's feePayer/signers do not match its message")
        p.check_authority()
        return p

    def save(self, path: Path, *, overwrite: bool = True) -> None:
        atomic_write(Path(path), (json.dumps(self.to_json(), indent=1) + "\n").encode(), overwrite=overwrite)

    @classmethod
    def load(cls, path: Path) -> Proposal:
        return cls.from_json(_read_json(path))


def propose(
    rpc: Rpc,
    desc: Descriptor,
    proposer: SvmSigner,
    asset: str,
    units: int,
    to: str,
    signers: list[str] | None = None,
) -> Proposal:
    """Build the payout message, fixing its required signers; sign it as the proposer."""
    chain = get_chain(desc.chain)
    me = str(proposer.pubkey())
    listed = [validate_svm_address(s) for s in (signers or default_signers(desc, me))]
    strangers = [s for s in listed if s not in desc.signers]
    if strangers:
        raise MultisigError(f"not owners of this multisig: {', '.join(strangers)}")
    if len(set(listed)) != len(listed) or len(listed) < desc.threshold:
        raise MultisigError(f"list at least {desc.threshold} distinct owners as signers, got {len(set(listed))}")
    mint = resolve_mint(chain, asset)
    decimals = mint_decimals(rpc, chain, mint)
    seed = _SEED_PREFIX + secrets.token_hex(8)
    temp_rent = int(rpc.call("getMinimumBalanceForRentExemption", TOKEN_ACCOUNT_LEN))
    ixs = payout_instructions(
        desc,
        proposer.pubkey(),
        mint,
        units,
        decimals,
        _pk(to),
        [_pk(s) for s in listed],
        seed=seed,
        temp_rent=temp_rent,
    )
    msg = Message.new_with_blockhash(ixs, proposer.pubkey(), svm.latest_blockhash(rpc))
    what = f"{format_units(units, decimals)} {_asset_name(chain, mint)}"
    summary = (
        f"pay {what} from multisig {desc.address} on {chain.key} to {to}; "
        f"signers {', '.join(listed)} ({desc.threshold} of {len(desc.signers)}); fee payer {me}"
    )
    proposal = Proposal(chain.key, desc.address, desc.threshold, msg, summary)
    proposal.sign(proposer)
    return proposal


# -- approve and execute ------------------------------------------------------------------------


def ensure_fresh(rpc: Rpc, proposal: Proposal) -> None:
    if not blockhash_valid(rpc, proposal.message):
        raise ProposalExpired(
            f"the proposal's blockhash {proposal.message.recent_blockhash} has expired on {proposal.chain}: "
            "its signatures can no longer be used; re-propose and collect the signatures again"
        )


def check_against_chain(rpc: Rpc, proposal: Proposal) -> None:
    """The listed signers are owners of the on-chain multisig, and at least its threshold of them."""
    ms = onchain_multisig(rpc, proposal.multisig)
    owners = {str(k) for k in list(ms.signers)[: ms.n]}
    listed = proposal.multisig_signers()
    strangers = [s for s in listed if s not in owners]
    if strangers:
        raise MultisigError(f"listed signers are not owners of {proposal.multisig}: {', '.join(strangers)}")
    if len(listed) < ms.m:
        raise MultisigError(f"the message lists {len(listed)} signers; the multisig needs {ms.m}")


def approve(rpc: Rpc | None, proposal: Proposal, signer: SvmSigner) -> Prepared | None:
    """Verify, sign (in memory: the caller saves it) and, once complete, simulate the transaction.

    Returns the reviewed transaction when every signature is present (``enforce`` it before saving),
    else ``None`` (the SPL multisig cannot be simulated before m signatures exist).
    """
    proposal.verify()
    if str(signer.pubkey()) not in proposal.required():
        raise NotASigner(f"{signer.pubkey()} is not a signer this proposal requires ({', '.join(proposal.required())})")
    if rpc is not None:
        ensure_fresh(rpc, proposal)
        check_against_chain(rpc, proposal)
    proposal.sign(signer)
    if rpc is None or proposal.missing():
        return None
    return prepare_execute(rpc, proposal)


def prepare_execute(rpc: Rpc, proposal: Proposal) -> Prepared:
    """All signatures present and valid, blockhash fresh: the transaction, simulated for review."""
    chain = get_chain(proposal.chain)
    tx = proposal.transaction()
    ensure_fresh(rpc, proposal)
    return Prepared(chain, rpc, svm.review(rpc, chain, tx), tx)


def execute(prepared: Prepared, *, allow_flagged: bool = False) -> dict[str, Any]:
    """``enforce`` the review, send, confirm; an expired blockhash says re-propose."""
    try:
        return prepared.submit(allow_flagged=allow_flagged)
    except RpcError as exc:
        if "BlockhashNotFound" in str(exc) or "Blockhash not found" in str(exc):
            raise ProposalExpired("the blockhash expired before the transaction landed; re-propose") from None
        raise


def status(rpc: Rpc | None, proposal: Proposal) -> dict[str, Any]:
    """Signatures present/missing, whether they verify, and (with a node) freshness and landing."""
    try:
        proposal.verify()
        verified = True
    except ProposalTampered:
        verified = False
    out: dict[str, Any] = {
        "chain": proposal.chain,
        "multisig": proposal.multisig,
        "summary": proposal.summary,
        "required": proposal.required(),
        "signed": [k for k in proposal.required() if k in proposal.signatures],
        "missing": proposal.missing(),
        "signaturesVerify": verified,
    }
    if rpc is not None:
        out["blockhashValid"] = blockhash_valid(rpc, proposal.message)
        payer_sig = proposal.signatures.get(proposal.fee_payer)
        landed = rpc.call("getSignatureStatuses", [payer_sig])["value"][0] if payer_sig else None
        out["executed"] = landed is not None and landed.get("err") is None
        out["transaction"] = payer_sig if landed is not None else None
    return out
