"""Safe v1.4.1 contracts and chain access: artifacts, deployments, code checks, on-chain Safe state.

Invariants:

- **Real bytecode only.** Creation and runtime code come from safe-eth-py's Safe v1.4.1 artifacts
  (``Safe_V1_4_1``, ``ProxyFactory_V1_4_1``, ``CompatibilityFallbackHandler_V1_4_1``,
  ``Proxy_V1_4_1``), read as files (no web3 import). A contract counts as a Safe component only if
  its on-chain runtime code equals the artifact's ``deployedBytecode`` byte for byte; a Safe (a
  proxy) only if its code is the Proxy artifact's and its singleton (storage slot 0) is a verified
  singleton. Nothing else is ever "known" by address alone.
- **The chain is the truth.** Owners, threshold and nonce are read from the Safe (``getOwners``,
  ``getThreshold``, ``nonce``), never from a file.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from rucksack.wallet.rpc import Rpc

SAFE_VERSION = "1.4.1"
ZERO = "0x" + "00" * 20
SENTINEL = "0x0000000000000000000000000000000000000001"  # head of the Safe's owner linked list
ARTIFACTS = {
    "singleton": "Safe_V1_4_1",
    "factory": "ProxyFactory_V1_4_1",
    "handler": "CompatibilityFallbackHandler_V1_4_1",
    "proxy": "Proxy_V1_4_1",
}
ROLE_NAMES = {
    "singleton": "Safe v1.4.1 singleton",
    "factory": "SafeProxyFactory v1.4.1",
    "handler": "CompatibilityFallbackHandler v1.4.1",
}


class SafeError(ValueError):
    """A Safe, a descriptor or a proposal is not what it must be (says what and why)."""


@functools.cache
def artifact(role: str) -> dict[str, Any]:
    spec = importlib.util.find_spec("safe_eth")
    if spec is None or spec.origin is None:
        raise SafeError("safe-eth-py is not installed")
    path = Path(spec.origin).parent / "eth" / "contracts" / "abis" / f"{ARTIFACTS[role]}.json"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def creation_code(role: str) -> bytes:
    return bytes.fromhex(artifact(role)["bytecode"].removeprefix("0x"))


def runtime_code(role: str) -> bytes:
    return bytes.fromhex(artifact(role)["deployedBytecode"].removeprefix("0x"))


@dataclass(frozen=True)
class Deployment:
    singleton: str
    factory: str
    handler: str

    def to_json(self) -> dict[str, str]:
        return {"singleton": self.singleton, "factory": self.factory, "handler": self.handler}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Deployment:
        return cls(*(to_checksum_address(doc[k]) for k in ("singleton", "factory", "handler")))


# The canonical deterministic addresses (safe-deployments; the same on every chain with the Safe
# singleton factory). Used when they hold exactly the artifact code; otherwise we deploy.
CANONICAL = Deployment(
    singleton="0x41675C099F32341bf84BFc5382aF534df5C7461a",
    factory="0x4e1DCf7AD4e460CfD30791CCC4F9c8a4f820ec67",
    handler="0xfd0732Dc9E303f09fCEf3a7388Ad10A83459Ec99",
)


# -- chain access ---------------------------------------------------------------------------------


def code_at(rpc: Rpc, address: str) -> bytes:
    return bytes.fromhex(str(rpc.call("eth_getCode", address, "latest") or "0x").removeprefix("0x"))


def eth_call(rpc: Rpc, to: str, data: bytes, sender: str | None = None) -> bytes:
    obj = {"to": to, "data": "0x" + data.hex()}
    if sender:
        obj["from"] = sender
    return bytes.fromhex(str(rpc.call("eth_call", obj, "latest")).removeprefix("0x"))


def calldata(signature: str, types: list[str], args: list[Any]) -> bytes:
    return function_signature_to_4byte_selector(signature) + encode(types, args)


def deployment_problems(rpc: Rpc, dep: Deployment) -> dict[str, str]:
    """role -> "missing" / "different code" for each component that is not exactly the artifact."""
    out = {}
    for role in ("singleton", "factory", "handler"):
        code = code_at(rpc, getattr(dep, role))
        if code != runtime_code(role):
            out[role] = "missing" if not code else "different code"
    return out


def verify_safe(rpc: Rpc, safe: str, singleton: str) -> None:
    """``safe`` is a Safe v1.4.1 proxy on the verified ``singleton`` (raises ``SafeError`` if not)."""
    if code_at(rpc, safe) != runtime_code("proxy"):
        raise SafeError(f"{safe} is not a Safe v1.4.1 proxy (its code is not the Proxy artifact's)")
    slot0 = int(str(rpc.call("eth_getStorageAt", safe, "0x0", "latest")), 16)
    if to_checksum_address(slot0.to_bytes(20, "big")) != to_checksum_address(singleton):
        raise SafeError(f"{safe} delegates to {to_checksum_address(slot0.to_bytes(20, 'big'))}, not {singleton}")
    if code_at(rpc, singleton) != runtime_code("singleton"):
        raise SafeError(f"{singleton} is not the Safe v1.4.1 singleton (code differs from the artifact)")


@dataclass(frozen=True)
class SafeState:
    address: str
    owners: list[str]
    threshold: int
    nonce: int
    version: str

    def to_json(self) -> dict[str, Any]:
        return {"safe": self.address, "owners": self.owners, "threshold": self.threshold, "nonce": self.nonce}


def read_state(rpc: Rpc, safe: str) -> SafeState:
    owners = decode(["address[]"], eth_call(rpc, safe, calldata("getOwners()", [], [])))[0]
    threshold = decode(["uint256"], eth_call(rpc, safe, calldata("getThreshold()", [], [])))[0]
    nonce = decode(["uint256"], eth_call(rpc, safe, calldata("nonce()", [], [])))[0]
    version = decode(["string"], eth_call(rpc, safe, calldata("VERSION()", [], [])))[0]
    return SafeState(to_checksum_address(safe), [to_checksum_address(o) for o in owners], threshold, nonce, version)


def prev_owner(owners: list[str], owner: str) -> str:
    """The owner before ``owner`` in the Safe's linked list (``getOwners`` order); SENTINEL for the first."""
    owner = to_checksum_address(owner)
    if owner not in owners:
        raise SafeError(f"{owner} is not an owner of this Safe (owners: {', '.join(owners)})")
    i = owners.index(owner)
    return SENTINEL if i == 0 else owners[i - 1]
