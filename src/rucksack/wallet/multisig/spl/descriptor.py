"""One multisig's public description: the errors, the SPL layout constants, ``Vault``, ``Descriptor``.

Invariants:

- The **multisig account** (355 bytes, owned by SPL Token, ``InitializeMultisig``) lists n signer
  keys (1 <= n <= 11) and the threshold m (1 <= m <= n). Its signer set is immutable once
  initialized (SPL Token has no instruction to change it): a new owner set means a new multisig and
  moving the funds.
- The **vaults** are token accounts whose owner is the multisig account: the associated token
  account (ATA) of the chain's registry token, and the ATA of the wrapped-SOL native mint (SOL is
  held as wSOL). A vault not listed in the descriptor is still the multisig's ATA for its mint.
- A descriptor holds no secrets. A file is refused (``MultisigError``) unless it is a JSON object
  of this format and version, for an SVM chain, with valid addresses and a valid threshold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

from rucksack.chains.addresses import validate_svm_address
from rucksack.chains.registry import get_chain
from rucksack.wallet.keystore import atomic_write

DESCRIPTOR_FORMAT = "rucksack-spl-multisig"
VERSION = 1
MULTISIG_LEN = 355  # spl_token::state::Multisig::LEN
TOKEN_ACCOUNT_LEN = 165
MAX_SIGNERS = 11  # spl_token::instruction::MAX_SIGNERS
NATIVE_DECIMALS = 9
SOL = "SOL"


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
