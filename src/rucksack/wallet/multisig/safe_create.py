"""Creating a Safe, and the Safe's files: owner checks, setup and CREATE2 data, descriptor and deployment files.

Invariants:

- Owners are distinct checksummed addresses, never the zero address or the owner-list sentinel
  0x..01, and 1 <= threshold <= number of owners.
- The Safe is created with ``setup`` and no refunds (payment 0, receiver and payment token zero)
  and the given fallback handler; its CREATE2 address is predicted from the Proxy artifact's
  creation code, the singleton and a salt derived from the owner set and threshold alone, so the
  same owners and threshold give the same salt on every chain.
- A file is read only if its ``format`` and ``version`` are the expected ones (``SafeError``
  otherwise); files are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_abi.abi import encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from rucksack.chains.registry import Chain
from rucksack.wallet.keystore import atomic_write
from rucksack.wallet.multisig.safe_contracts import (
    SAFE_VERSION,
    SENTINEL,
    ZERO,
    Deployment,
    SafeError,
    calldata,
    creation_code,
)

DESCRIPTOR_FORMAT = "rucksack-safe"
DEPLOYMENT_FORMAT = "rucksack-safe-deployment"


# -- creation -------------------------------------------------------------------------------------

SETUP_SIG = "setup(address[],uint256,address,bytes,address,address,uint256,address)"
SETUP_TYPES = ["address[]", "uint256", "address", "bytes", "address", "address", "uint256", "address"]
CREATE_SIG = "createProxyWithNonce(address,bytes,uint256)"


def check_owners(owners: list[str], threshold: int) -> list[str]:
    out: list[str] = [to_checksum_address(o) for o in owners]
    if len(set(out)) != len(out):
        raise SafeError("owners must be distinct")
    if any(o in (ZERO, to_checksum_address(SENTINEL)) for o in out):
        raise SafeError("the zero address and 0x..01 cannot be owners")
    if not 1 <= threshold <= len(out):
        raise SafeError(f"threshold {threshold} must be between 1 and the number of owners ({len(out)})")
    return out


def setup_data(owners: list[str], threshold: int, handler: str) -> bytes:
    return calldata(SETUP_SIG, SETUP_TYPES, [owners, threshold, ZERO, b"", handler, ZERO, 0, ZERO])


def derived_salt_nonce(owners: list[str], threshold: int) -> int:
    """Deterministic salt: the same owner set and threshold give the same salt on every chain."""
    text = "rucksack/safe/v1|" + ",".join(sorted(o.lower() for o in owners)) + f"|{threshold}"
    return int.from_bytes(keccak(text.encode()), "big")


def predict_address(dep: Deployment, initializer: bytes, salt_nonce: int) -> str:
    """CREATE2 address of ``createProxyWithNonce(singleton, initializer, salt_nonce)``."""
    salt = keccak(keccak(initializer) + salt_nonce.to_bytes(32, "big"))
    init = creation_code("proxy") + encode(["address"], [dep.singleton])
    raw = keccak(b"\xff" + bytes.fromhex(dep.factory[2:]) + salt + keccak(init))[12:]
    return to_checksum_address(raw)


def create_data(dep: Deployment, initializer: bytes, salt_nonce: int) -> bytes:
    return calldata(CREATE_SIG, ["address", "bytes", "uint256"], [dep.singleton, initializer, salt_nonce])


def descriptor(
    chain: Chain, safe: str, owners: list[str], threshold: int, dep: Deployment, salt: int
) -> dict[str, Any]:
    return {
        "format": DESCRIPTOR_FORMAT,
        "version": 1,
        "chain": chain.key,
        "chainId": chain.chain_id,
        "safe": safe,
        "safeVersion": SAFE_VERSION,
        "owners": owners,
        "threshold": threshold,
        "saltNonce": str(salt),
        **dep.to_json(),
    }


def load_doc(path: str | Path, fmt: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    if doc.get("format") != fmt or doc.get("version") != 1:
        raise SafeError(f"{path} is not a {fmt} v1 file")
    return doc


def load_deployment(path: str | Path) -> Deployment:
    """Safe contract addresses from a deployment file (``safe deploy --out``) or a descriptor."""
    doc = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    if doc.get("format") not in (DESCRIPTOR_FORMAT, DEPLOYMENT_FORMAT) or doc.get("version") != 1:
        raise SafeError(f"{path} is neither a Safe deployment nor a Safe descriptor file")
    return Deployment.from_json(doc)


def save_doc(path: str | Path, doc: dict[str, Any], *, overwrite: bool = True) -> None:
    atomic_write(Path(path).expanduser(), (json.dumps(doc, indent=1) + "\n").encode(), overwrite=overwrite)
