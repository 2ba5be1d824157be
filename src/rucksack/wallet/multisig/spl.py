"""SPL Token multisig (m of n, n <= 11) on Solana/Eclipse: descriptor, vaults, proposals, execution.

What the chain enforces, and what this module only carries:

- The **multisig account** (355 bytes, owned by SPL Token, ``InitializeMultisig``) lists n signer
  keys and the threshold m. Its signer set is immutable once initialized (SPL Token has no
  instruction to change it): a new owner set means a new multisig and moving the funds.
- The **vaults** are token accounts whose owner is the multisig account: the associated token
  account (ATA) of the chain's registry token, and the ATA of the wrapped-SOL native mint (SOL is
  held as wSOL: lamports sent to that account, then ``SyncNative``). Anyone can deposit into a
  vault; moving tokens out needs an instruction that names the multisig as authority and lists at
  least m of its signers as transaction signers. The SPL Token program checks that, so a
  transaction with fewer signatures fails on chain with ``MissingRequiredSignature``.
- A **proposal** is off chain: one serialized legacy ``Message`` (recent blockhash included), the
  fee payer (the proposer) and the multisig signers the message requires, a human summary, and a
  map ``signer -> signature``. The set of required signers is fixed by the message bytes at
  propose time. Nothing in the file but the message is trusted: ``describe`` re-derives what the
  transaction does from the bytes, every stored signature is verified against those bytes before
  one is added or the transaction is sent (so a message changed after a signature is refused), and
  only a key the message requires may add a signature.
- SOL payout (exact amount, the vault stays open): in one transaction the proposer creates a
  temporary wSOL account from a seed (``CreateAccountWithSeed``, base = the proposer, rent paid by
  the proposer), ``InitializeAccount3`` with the proposer as its owner, the multisig moves the
  amount into it (``TransferChecked`` of wSOL, m of n signers), the proposer closes it to
  itself (rent + amount come back) and a System ``Transfer`` pays the amount to the recipient.
  Net: vault -amount, recipient +amount SOL, proposer -fee. Atomic: all or nothing.
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

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import (
    CreateAccountParams,
    CreateAccountWithSeedParams,
    TransferParams,
    create_account,
    create_account_with_seed,
    decode_create_account,
    decode_create_account_with_seed,
    decode_transfer,
    transfer,
)
from solders.token.state import Multisig, TokenAccount
from solders.transaction import Transaction, VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import (
    close_account,
    create_idempotent_associated_token_account,
    decode_close_account,
    decode_initialize_account3,
    decode_initialize_multisig,
    decode_transfer_checked,
    get_associated_token_address,
    initialize_account3,
    initialize_multisig,
    sync_native,
    transfer_checked,
)
from spl.token.models import (
    CloseAccountParams,
    InitializeAccount3Params,
    InitializeMultisigParams,
    SyncNativeParams,
    TransferCheckedParams,
)

from rucksack.chains.addresses import validate_svm_address
from rucksack.chains.registry import Chain, get_chain
from rucksack.chains.svm.transfers import ATA_PROGRAM_ID
from rucksack.wallet import svm
from rucksack.wallet.keystore import atomic_write
from rucksack.wallet.review import format_units
from rucksack.wallet.rpc import Rpc, RpcError
from rucksack.wallet.send import Prepared
from rucksack.wallet.signers import SvmSigner

DESCRIPTOR_FORMAT = "rucksack-spl-multisig"
PROPOSAL_FORMAT = "rucksack-spl-multisig-proposal"
VERSION = 1
MULTISIG_LEN = 355  # spl_token::state::Multisig::LEN
TOKEN_ACCOUNT_LEN = 165
MAX_SIGNERS = 11  # spl_token::instruction::MAX_SIGNERS
NATIVE_DECIMALS = 9
SOL = "SOL"
_SEED_PREFIX = "rucksack-"


class MultisigError(ValueError):
    """Bad input or a proposal that cannot be used; the message says what and why."""


class ProposalTampered(MultisigError):
    """A stored signature does not verify over the message (changed after signing, or forged)."""


class NotASigner(MultisigError):
    """The key is not one of the signers the proposal's message requires."""


class MissingSignatures(MultisigError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"missing signatures from {', '.join(missing)}; run `multisig approve` with those keys")
        self.missing = missing


class ProposalExpired(MultisigError):
    """The message's recent blockhash is no longer valid: the signatures are worthless now."""


# -- descriptor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vault:
    asset: str  # the native symbol (wrapped: SOL, Eclipse ETH), the token's symbol, or a mint
    mint: str
    address: str  # the multisig's associated token account for ``mint``


@dataclass(frozen=True)
class Descriptor:
    """Public description of one multisig (no secrets): what ``multisig create`` writes."""

    chain: str
    address: str
    signers: tuple[str, ...]
    threshold: int
    vaults: tuple[Vault, ...]

    def vault(self, mint: str) -> Vault:
        for v in self.vaults:
            if v.mint == mint:
                return v
        ata = get_associated_token_address(Pubkey.from_string(self.address), Pubkey.from_string(mint))
        return Vault(mint, mint, str(ata))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": DESCRIPTOR_FORMAT,
            "version": VERSION,
            "chain": self.chain,
            "multisig": self.address,
            "program": str(TOKEN_PROGRAM_ID),
            "signers": list(self.signers),
            "threshold": self.threshold,
            "vaults": [{"asset": v.asset, "mint": v.mint, "address": v.address} for v in self.vaults],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Descriptor:
        if doc.get("format") != DESCRIPTOR_FORMAT or doc.get("version") != VERSION:
            raise MultisigError(f"not a {DESCRIPTOR_FORMAT} v{VERSION} file")
        chain = get_chain(doc["chain"])
        if not chain.is_svm:
            raise MultisigError(f"{chain.key} is not an SVM chain")
        signers = tuple(validate_svm_address(s) for s in doc["signers"])
        _check_threshold(len(signers), int(doc["threshold"]))
        vaults = tuple(Vault(v["asset"], v["mint"], v["address"]) for v in doc["vaults"])
        return cls(chain.key, validate_svm_address(doc["multisig"]), signers, int(doc["threshold"]), vaults)

    def save(self, path: Path, *, overwrite: bool = False) -> None:
        atomic_write(Path(path), (json.dumps(self.to_json(), indent=1) + "\n").encode(), overwrite=overwrite)

    @classmethod
    def load(cls, path: Path) -> Descriptor:
        return cls.from_json(_read_json(path))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MultisigError(f"{path} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise MultisigError(f"{path} is not a JSON object")
    return doc


def _check_threshold(n: int, m: int) -> None:
    if not 1 <= n <= MAX_SIGNERS:
        raise MultisigError(f"an SPL multisig has 1 to {MAX_SIGNERS} signers, not {n}")
    if not 1 <= m <= n:
        raise MultisigError(f"threshold must be 1..{n}, not {m}")


def _pk(text: str) -> Pubkey:
    return Pubkey.from_string(validate_svm_address(text))


# -- signing helpers ----------------------------------------------------------------------------


def latest_blockhash(rpc: Rpc) -> Hash:
    return Hash.from_string(rpc.call("getLatestBlockhash", {"commitment": "finalized"})["value"]["blockhash"])


def sign_all(message: Message, signers: list[Any]) -> VersionedTransaction:
    """Each required signer signs the message bytes (``SvmSigner`` or ``Keypair``), in key order."""
    by_key = {str(s.pubkey()): s for s in signers}
    required = [str(k) for k in message.account_keys[: message.header.num_required_signatures]]
    if set(required) != set(by_key):
        raise MultisigError(f"signers {sorted(by_key)} do not match the message's {sorted(required)}")
    data = bytes(message)
    return VersionedTransaction.from_legacy(
        Transaction.populate(message, [by_key[k].sign_message(data) for k in required])
    )


def prepare(rpc: Rpc, chain: Chain, instructions: list[Instruction], payer: SvmSigner, extra: list[Any]) -> Prepared:
    """Sign with the payer (and ``extra`` signers), simulate those bytes: the wallet's review path."""
    msg = Message.new_with_blockhash(instructions, payer.pubkey(), latest_blockhash(rpc))
    tx = sign_all(msg, [payer, *extra])
    return Prepared(chain, rpc, svm.review(rpc, chain, tx), tx)


# -- create and fund ----------------------------------------------------------------------------


def create_instructions(
    payer: Pubkey, multisig: Pubkey, signers: list[Pubkey], threshold: int, rent: int, token_mint: Pubkey
) -> list[Instruction]:
    """New multisig account + InitializeMultisig + the token and wSOL vaults (ATAs, idempotent)."""
    return [
        create_account(
            CreateAccountParams(
                from_pubkey=payer, to_pubkey=multisig, lamports=rent, space=MULTISIG_LEN, owner=TOKEN_PROGRAM_ID
            )
        ),
        initialize_multisig(
            InitializeMultisigParams(program_id=TOKEN_PROGRAM_ID, multisig=multisig, m=threshold, signers=signers)
        ),
        create_idempotent_associated_token_account(payer, multisig, token_mint),
        create_idempotent_associated_token_account(payer, multisig, WRAPPED_SOL_MINT),
    ]


def prepare_create(
    rpc: Rpc, chain_key: str, payer: SvmSigner, signers: list[str], threshold: int
) -> tuple[Descriptor, Prepared]:
    """The creation transaction (creator pays rent and fee), signed and simulated, not sent."""
    chain = get_chain(chain_key)
    if not chain.is_svm:
        raise MultisigError(f"{chain.key} is not an SVM chain")
    keys = [_pk(s) for s in signers]
    if len(set(keys)) != len(keys):
        raise MultisigError("a signer is listed twice")
    _check_threshold(len(keys), threshold)
    account = Keypair()  # signs its own creation once, then is forgotten: it has no authority
    rent = int(rpc.call("getMinimumBalanceForRentExemption", MULTISIG_LEN))
    mint = Pubkey.from_string(chain.token.address)
    ixs = create_instructions(payer.pubkey(), account.pubkey(), keys, threshold, rent, mint)
    ms = account.pubkey()
    vaults = (
        Vault(chain.token.symbol, chain.token.address, str(get_associated_token_address(ms, mint))),
        Vault(chain.native_symbol, str(WRAPPED_SOL_MINT), str(get_associated_token_address(ms, WRAPPED_SOL_MINT))),
    )
    desc = Descriptor(chain.key, str(ms), tuple(str(k) for k in keys), threshold, vaults)
    return desc, prepare(rpc, chain, ixs, payer, [account])


def resolve_mint(chain: Chain, asset: str) -> str:
    """``SOL``/the native symbol (Eclipse: ETH)/``native`` -> the native mint (wrapped coin); the
    registry token's symbol -> its mint; else a mint address."""
    if asset.upper() in (SOL, chain.native_symbol, "NATIVE", "WSOL"):
        return str(WRAPPED_SOL_MINT)
    if asset.upper() == chain.token.symbol:
        return chain.token.address
    return validate_svm_address(asset)


def mint_decimals(rpc: Rpc, chain: Chain, mint: str) -> int:
    if mint == str(WRAPPED_SOL_MINT):
        return NATIVE_DECIMALS
    dec = svm._mint_decimals(rpc, chain, {mint}).get(mint)
    if dec is None:
        raise MultisigError(f"{mint} is not a token mint on {chain.key}")
    return dec


def fund_instructions(desc: Descriptor, funder: Pubkey, mint: str, units: int, decimals: int) -> list[Instruction]:
    """Deposit into a vault: SOL = lamports to the wSOL vault + SyncNative; a token = TransferChecked
    from the funder's ATA (the vault ATA is created idempotently, paid by the funder)."""
    ms, mint_pk = _pk(desc.address), _pk(mint)
    vault = get_associated_token_address(ms, mint_pk)
    if mint_pk == WRAPPED_SOL_MINT:
        return [
            create_idempotent_associated_token_account(funder, ms, WRAPPED_SOL_MINT),
            transfer(TransferParams(from_pubkey=funder, to_pubkey=vault, lamports=units)),
            sync_native(SyncNativeParams(program_id=TOKEN_PROGRAM_ID, account=vault)),
        ]
    return [
        create_idempotent_associated_token_account(funder, ms, mint_pk),
        transfer_checked(
            TransferCheckedParams(
                program_id=TOKEN_PROGRAM_ID,
                source=get_associated_token_address(funder, mint_pk),
                mint=mint_pk,
                dest=vault,
                owner=funder,
                amount=units,
                decimals=decimals,
            )
        ),
    ]


def prepare_fund(rpc: Rpc, desc: Descriptor, funder: SvmSigner, asset: str, units: int) -> Prepared:
    chain = get_chain(desc.chain)
    mint = resolve_mint(chain, asset)
    ixs = fund_instructions(desc, funder.pubkey(), mint, units, mint_decimals(rpc, chain, mint))
    return prepare(rpc, chain, ixs, funder, [])


# -- proposals ----------------------------------------------------------------------------------


def default_signers(desc: Descriptor, proposer: str) -> list[str]:
    """The proposer (if an owner) and the owners after it, in descriptor order, up to the threshold."""
    owners = list(desc.signers)
    start = owners.index(proposer) if proposer in owners else 0
    return [owners[(start + i) % len(owners)] for i in range(desc.threshold)]


def payout_instructions(
    desc: Descriptor,
    payer: Pubkey,
    mint: str,
    units: int,
    decimals: int,
    to: Pubkey,
    signers: list[Pubkey],
    *,
    seed: str,
    temp_rent: int,
) -> list[Instruction]:
    """A transfer out of a vault, authorised by the multisig with ``signers`` (see the module doc)."""
    ms, mint_pk = _pk(desc.address), _pk(mint)
    vault = get_associated_token_address(ms, mint_pk)
    if mint_pk != WRAPPED_SOL_MINT:
        dest = get_associated_token_address(to, mint_pk)
        return [
            create_idempotent_associated_token_account(payer, to, mint_pk),
            _multisig_transfer(vault, mint_pk, dest, ms, units, decimals, signers),
        ]
    temp = Pubkey.create_with_seed(payer, seed, TOKEN_PROGRAM_ID)
    return [
        create_account_with_seed(
            CreateAccountWithSeedParams(
                from_pubkey=payer,
                to_pubkey=temp,
                base=payer,
                seed=seed,
                lamports=temp_rent,
                space=TOKEN_ACCOUNT_LEN,
                owner=TOKEN_PROGRAM_ID,
            )
        ),
        initialize_account3(
            InitializeAccount3Params(program_id=TOKEN_PROGRAM_ID, account=temp, mint=WRAPPED_SOL_MINT, owner=payer)
        ),
        _multisig_transfer(vault, WRAPPED_SOL_MINT, temp, ms, units, NATIVE_DECIMALS, signers),
        close_account(CloseAccountParams(program_id=TOKEN_PROGRAM_ID, account=temp, dest=payer, owner=payer)),
        transfer(TransferParams(from_pubkey=payer, to_pubkey=to, lamports=units)),
    ]


def _multisig_transfer(
    source: Pubkey, mint: Pubkey, dest: Pubkey, ms: Pubkey, units: int, decimals: int, signers: list[Pubkey]
) -> Instruction:
    return transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=source,
            mint=mint,
            dest=dest,
            owner=ms,
            amount=units,
            decimals=decimals,
            signers=signers,
        )
    )


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
            for ix in _instructions(self.message)
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
    msg = Message.new_with_blockhash(ixs, proposer.pubkey(), latest_blockhash(rpc))
    what = f"{format_units(units, decimals)} {_asset_name(chain, mint)}"
    summary = (
        f"pay {what} from multisig {desc.address} on {chain.key} to {to}; "
        f"signers {', '.join(listed)} ({desc.threshold} of {len(desc.signers)}); fee payer {me}"
    )
    proposal = Proposal(chain.key, desc.address, desc.threshold, msg, summary)
    proposal.sign(proposer)
    return proposal


def _asset_name(chain: Chain, mint: str) -> str:
    return f"{chain.native_symbol} (wrapped)" if mint == str(WRAPPED_SOL_MINT) else svm.symbol(chain, mint)


# -- reading a message back into words ----------------------------------------------------------


def _instructions(msg: Message) -> list[Instruction]:
    keys = msg.account_keys
    return [
        Instruction(keys[c.program_id_index], bytes(c.data), [_meta(msg, i) for i in c.accounts])
        for c in msg.instructions
    ]


def _meta(msg: Message, index: int) -> AccountMeta:
    h, n = msg.header, len(msg.account_keys)
    signed = index < h.num_required_signatures
    writable = (
        index < h.num_required_signatures - h.num_readonly_signed_accounts
        if signed
        else index < n - h.num_readonly_unsigned_accounts
    )
    return AccountMeta(msg.account_keys[index], signed, writable)


def describe(msg: Message, chain_key: str) -> tuple[list[str], list[str]]:
    """Plain words for every instruction, from the bytes; and the ones not understood."""
    chain = get_chain(chain_key)
    words: list[str] = []
    unknown: list[str] = []
    for n, ix in enumerate(_instructions(msg)):
        try:
            text = _word(chain, ix)
        except (ValueError, KeyError, IndexError):
            text = None
        if text is None:
            text = f"UNRECOGNISED call to program {ix.program_id}"
            unknown.append(f"instruction {n}: {text}")
        words.append(f"{n}. {text}")
    return words, unknown


def _sol(chain: Chain, lamports: int) -> str:
    return f"{format_units(lamports, chain.native_decimals)} {chain.native_symbol}"


def _word(chain: Chain, ix: Instruction) -> str | None:
    data = ix.data
    if ix.program_id == SYSTEM_PROGRAM_ID:
        tag = int.from_bytes(data[:4], "little")
        if tag == 2:
            t = decode_transfer(ix)
            return f"System transfer {_sol(chain, t['lamports'])} from {t['from_pubkey']} to {t['to_pubkey']}"
        if tag == 0:
            c = decode_create_account(ix)
            return (
                f"create account {c['to_pubkey']} ({c['space']} bytes, owner {c['owner']}), paid by {c['from_pubkey']}"
            )
        if tag == 3:
            s = decode_create_account_with_seed(ix)
            return (
                f"create temporary account {s['to_pubkey']} (seed {s['seed']!r}, {s['space']} bytes, "
                f"owner {s['owner']}), rent {_sol(chain, s['lamports'])} paid by {s['from_pubkey']}"
            )
        return None
    if ix.program_id == ATA_PROGRAM_ID and data in (b"", b"\x00", b"\x01"):
        payer, owner, mint = ix.accounts[0].pubkey, ix.accounts[2].pubkey, ix.accounts[3].pubkey
        return f"create (if absent) the {_asset_name(chain, str(mint))} account of {owner}, paid by {payer}"
    if ix.program_id != TOKEN_PROGRAM_ID or not data:
        return None
    return _token_word(chain, ix)


def _token_word(chain: Chain, ix: Instruction) -> str | None:
    tag = ix.data[0]
    if tag == 12:
        t = decode_transfer_checked(ix)
        by = f" signed by {', '.join(map(str, t.signers))}" if t.signers else ""
        amount = f"{format_units(t.amount, t.decimals)} {_asset_name(chain, str(t.mint))}"
        return f"SPL transfer {amount} from token account {t.source} to {t.dest}, authority {t.owner}{by}"
    if tag == 9:
        c = decode_close_account(ix)
        return f"close token account {c.account} (its lamports go to {c.dest}), authority {c.owner}"
    if tag == 18:
        a = decode_initialize_account3(ix)
        return f"initialise token account {a.account} for {_asset_name(chain, str(a.mint))}, owner {a.owner}"
    if tag == 17:
        return f"sync the wSOL balance of {ix.accounts[0].pubkey}"
    if tag == 2:
        m = decode_initialize_multisig(ix)
        return f"initialise multisig {m.multisig}: {m.m} of {', '.join(map(str, m.signers))}"
    return None


# -- chain reads --------------------------------------------------------------------------------


def blockhash_valid(rpc: Rpc, msg: Message) -> bool:
    return bool(rpc.call("isBlockhashValid", str(msg.recent_blockhash), {"commitment": "processed"})["value"])


def ensure_fresh(rpc: Rpc, proposal: Proposal) -> None:
    if not blockhash_valid(rpc, proposal.message):
        raise ProposalExpired(
            f"the proposal's blockhash {proposal.message.recent_blockhash} has expired on {proposal.chain}: "
            "its signatures can no longer be used; re-propose and collect the signatures again"
        )


def onchain_multisig(rpc: Rpc, address: str) -> Multisig:
    acc = svm.get_accounts(rpc, [address])[0]
    if acc is None or acc[2] != str(TOKEN_PROGRAM_ID) or len(acc[1]) != MULTISIG_LEN:
        raise MultisigError(f"{address} is not an SPL Token multisig account")
    return Multisig.from_bytes(acc[1])


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


def vault_balances(rpc: Rpc, desc: Descriptor) -> list[dict[str, Any]]:
    chain = get_chain(desc.chain)
    out = []
    for vault, acc in zip(desc.vaults, svm.get_accounts(rpc, [v.address for v in desc.vaults]), strict=True):
        state = TokenAccount.from_bytes(acc[1]) if acc and len(acc[1]) == TOKEN_ACCOUNT_LEN else None
        amount = state.amount if state is not None else 0
        decimals = NATIVE_DECIMALS if vault.mint == str(WRAPPED_SOL_MINT) else mint_decimals(rpc, chain, vault.mint)
        out.append(
            {
                "asset": vault.asset,
                "mint": vault.mint,
                "vault": vault.address,
                "exists": acc is not None,
                "units": str(amount),
                "amount": format_units(amount, decimals),
            }
        )
    return out


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
