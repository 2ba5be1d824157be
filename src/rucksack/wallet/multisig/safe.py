"""Safe v1.4.1 on the EVM chains: contracts, descriptors, SafeTx proposals, signatures, decoding.

The chain enforces the threshold: ``execTransaction`` checks the signatures itself. This module
builds what the owners sign, checks what they signed, and describes it in plain words; it never
decides on its own that a signature set is enough to move funds.

Invariants:

- **Real bytecode only.** Creation and runtime code come from safe-eth-py's Safe v1.4.1 artifacts
  (``Safe_V1_4_1``, ``ProxyFactory_V1_4_1``, ``CompatibilityFallbackHandler_V1_4_1``,
  ``Proxy_V1_4_1``), read as files (no web3 import). A contract counts as a Safe component only if
  its on-chain runtime code equals the artifact's ``deployedBytecode`` byte for byte; a Safe (a
  proxy) only if its code is the Proxy artifact's and its singleton (storage slot 0) is a verified
  singleton. Nothing else is ever "known" by address alone.
- **The chain is the truth.** Owners, threshold and nonce are read from the Safe (``getOwners``,
  ``getThreshold``, ``nonce``) for every proposal, approval and execution; a descriptor's owner list
  is informational.
- **What is signed is what is shown.** A proposal's EIP-712 typed data is rebuilt from its SafeTx
  fields on every use; the offline EIP-712 hash, the contract's ``getTransactionHash`` and the stored
  ``safeTxHash`` must all agree, and every stored signature must recover (EIP-712, v in {27, 28}) to a
  current owner, or the proposal is refused as tampered.
- **CALL only.** ``operation`` 1 (DELEGATECALL runs foreign code as the Safe: it can rewrite owners
  or drain it) is refused unless the caller passes an explicit override, and stays flagged after.
- Refunds are never used: ``safeTxGas``, ``baseGas``, ``gasPrice`` are 0 and ``gasToken``,
  ``refundReceiver`` the zero address, so a failing inner call reverts the whole ``execTransaction``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import decode, encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

from rucksack.chains.evm import erc20
from rucksack.chains.registry import Chain
from rucksack.wallet.evm import APPROVAL_SELECTORS, AUTHORITY_SELECTORS, known_tokens, token_balance
from rucksack.wallet.keystore import atomic_write
from rucksack.wallet.review import APPROVAL, AUTHORITY_CHANGE, UNKNOWN_CONTRACT, Change, Flag, format_units
from rucksack.wallet.rpc import Rpc
from rucksack.wallet.signers import EvmSigner

SAFE_VERSION = "1.4.1"
ZERO = "0x" + "00" * 20
SENTINEL = "0x0000000000000000000000000000000000000001"  # head of the Safe's owner linked list
CALL, DELEGATECALL = 0, 1
DELEGATECALL_FLAG = "delegatecall"
PROPOSAL_FORMAT = "rucksack-safe-proposal"
DESCRIPTOR_FORMAT = "rucksack-safe"
DEPLOYMENT_FORMAT = "rucksack-safe-deployment"
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


# -- SafeTx, EIP-712 ------------------------------------------------------------------------------

EXEC_SIG = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
HASH_SIG = "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)"
TX_TYPES = ["address", "uint256", "bytes", "uint8", "uint256", "uint256", "uint256", "address", "address"]
SAFE_TX_TYPE = [
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "data", "type": "bytes"},
    {"name": "operation", "type": "uint8"},
    {"name": "safeTxGas", "type": "uint256"},
    {"name": "baseGas", "type": "uint256"},
    {"name": "gasPrice", "type": "uint256"},
    {"name": "gasToken", "type": "address"},
    {"name": "refundReceiver", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]


def safe_tx(to: str, value: int, data: bytes, operation: int, nonce: int) -> dict[str, Any]:
    """A SafeTx as stored in a proposal: uint256 as decimal strings, bytes as 0x-hex."""
    return {
        "to": to_checksum_address(to),
        "value": str(value),
        "data": "0x" + data.hex(),
        "operation": operation,
        "safeTxGas": "0",
        "baseGas": "0",
        "gasPrice": "0",
        "gasToken": ZERO,
        "refundReceiver": ZERO,
        "nonce": str(nonce),
    }


def _fields(stx: dict[str, Any]) -> list[Any]:
    return [
        to_checksum_address(stx["to"]),
        int(stx["value"]),
        bytes.fromhex(str(stx["data"]).removeprefix("0x")),
        int(stx["operation"]),
        int(stx["safeTxGas"]),
        int(stx["baseGas"]),
        int(stx["gasPrice"]),
        to_checksum_address(stx["gasToken"]),
        to_checksum_address(stx["refundReceiver"]),
    ]


def typed_data(chain_id: int, safe: str, stx: dict[str, Any]) -> dict[str, Any]:
    f = _fields(stx)
    values = [*f[:2], "0x" + f[2].hex(), *f[3:], int(stx["nonce"])]
    message = dict(zip([t["name"] for t in SAFE_TX_TYPE], values, strict=True))
    return {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "SafeTx": SAFE_TX_TYPE,
        },
        "primaryType": "SafeTx",
        "domain": {"chainId": chain_id, "verifyingContract": to_checksum_address(safe)},
        "message": message,
    }


def offline_hash(typed: dict[str, Any]) -> bytes:
    m = encode_typed_data(full_message=typed)
    return keccak(b"\x19" + m.version + m.header + m.body)


def contract_hash(rpc: Rpc, safe: str, stx: dict[str, Any]) -> bytes:
    out = eth_call(rpc, safe, calldata(HASH_SIG, [*TX_TYPES, "uint256"], [*_fields(stx), int(stx["nonce"])]))
    return bytes(decode(["bytes32"], out)[0])


def recover(typed: dict[str, Any], signature: bytes) -> str:
    if len(signature) != 65 or signature[64] not in (27, 28):
        raise SafeError("a signature must be 65 bytes r||s||v with v 27 or 28 (EIP-712)")
    return to_checksum_address(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))


def exec_data(stx: dict[str, Any], signatures: bytes) -> bytes:
    return calldata(EXEC_SIG, [*TX_TYPES, "bytes"], [*_fields(stx), signatures])


def packed_signatures(sigs: list[dict[str, str]]) -> bytes:
    """Signatures ordered by owner address as a number (what ``checkNSignatures`` requires)."""
    ordered = sorted(sigs, key=lambda s: int(s["owner"], 16))
    return b"".join(bytes.fromhex(s["signature"].removeprefix("0x")) for s in ordered)


# -- plain words and flags for a SafeTx -----------------------------------------------------------

OWNER_CALLS = {
    function_signature_to_4byte_selector("swapOwner(address,address,address)"): ("swapOwner", ["address"] * 3),
    function_signature_to_4byte_selector("addOwnerWithThreshold(address,uint256)"): (
        "addOwnerWithThreshold",
        ["address", "uint256"],
    ),
    function_signature_to_4byte_selector("removeOwner(address,address,uint256)"): (
        "removeOwner",
        ["address", "address", "uint256"],
    ),
    function_signature_to_4byte_selector("changeThreshold(uint256)"): ("changeThreshold", ["uint256"]),
}


def describe(rpc: Rpc, chain: Chain, safe: str, stx: dict[str, Any], threshold: int) -> tuple[list[str], list[Flag]]:
    """What the SafeTx does, in words, and what the wallet cannot vouch for (as review flags)."""
    to, value, data, op = _fields(stx)[:4]
    lines: list[str] = []
    flags: list[Flag] = []
    sym = chain.native_symbol
    if op == DELEGATECALL:
        flags.append(Flag(DELEGATECALL_FLAG, f"DELEGATECALL: the Safe runs {to}'s code as itself (can drain it)"))
    elif op != CALL:
        raise SafeError(f"operation {op} is neither CALL (0) nor DELEGATECALL (1)")
    sel = data[:4]
    if to == safe and sel in OWNER_CALLS and op == CALL:
        name, types = OWNER_CALLS[sel]
        args = decode(types, data[4:])
        if name == "swapOwner":
            lines.append(f"Safe {safe} swaps owner {to_checksum_address(args[1])} -> {to_checksum_address(args[2])}")
        elif name == "addOwnerWithThreshold":
            lines.append(f"Safe {safe} adds owner {to_checksum_address(args[0])}, threshold {threshold} -> {args[1]}")
        elif name == "removeOwner":
            old = to_checksum_address(args[1])
            lines.append(f"Safe {safe} removes owner {old}, threshold {threshold} -> {args[2]}")
        else:
            lines.append(f"Safe {safe} changes its threshold {threshold} -> {args[0]}")
    elif to == safe and data:
        flags.append(Flag(AUTHORITY_CHANGE, f"calls the Safe's own configuration (selector 0x{sel.hex()})"))
    tokens = known_tokens(chain)
    transfer = erc20.decode_transfer_data(data) if to in tokens and op == CALL else None
    if transfer is not None:
        recipient, amount = transfer
        symbol, dec = tokens[to]
        lines.append(f"Safe {safe} sends {format_units(amount, dec)} {symbol} to {recipient}")
    elif sel in APPROVAL_SELECTORS and len(data) >= 36:
        flags.append(Flag(APPROVAL, f"{APPROVAL_SELECTORS[sel]} on {to} to spender {to_checksum_address(data[16:36])}"))
    elif sel in AUTHORITY_SELECTORS:
        flags.append(Flag(AUTHORITY_CHANGE, f"{AUTHORITY_SELECTORS[sel]} on {to}"))
    elif to != safe and data and code_at(rpc, to):
        flags.append(Flag(UNKNOWN_CONTRACT, f"the Safe runs code of contract {to}, which the wallet does not know"))
    elif to != safe and data:
        lines.append(f"Safe {safe} sends data 0x{data.hex()} to {to} (no contract code there)")
    if value:
        lines.append(f"Safe {safe} sends {format_units(value, chain.native_decimals)} {sym} to {to}")
        if to != safe and op == CALL and not data and code_at(rpc, to):
            flags.append(Flag(UNKNOWN_CONTRACT, f"the Safe sends {sym} to contract {to}, which may run code"))
    if not lines and not flags:
        lines.append(f"Safe {safe} calls {to} with no value and no data (does nothing)")
    return lines, flags


def predicted_changes(rpc: Rpc, chain: Chain, safe: str, stx: dict[str, Any]) -> list[Change]:
    """Decoded balance changes of a CALL SafeTx (native value; an exact transfer of a known token)."""
    to, value, data, op = _fields(stx)[:4]
    out: list[Change] = []
    if op != CALL:
        return out
    if value and to != safe:
        a = int(str(rpc.call("eth_getBalance", safe, "latest")), 16)
        b = int(str(rpc.call("eth_getBalance", to, "latest")), 16)
        out += [Change(safe, chain.native_symbol, a, a - value, 18), Change(to, chain.native_symbol, b, b + value, 18)]
    tokens = known_tokens(chain)
    transfer = erc20.decode_transfer_data(data) if to in tokens else None
    if transfer is not None:
        recipient, amount = transfer
        symbol, dec = tokens[to]
        a = token_balance(rpc, to, safe)
        b = a if recipient == safe else token_balance(rpc, to, recipient)
        out += [Change(safe, symbol, a, a - amount, dec), Change(recipient, symbol, b, b + amount, dec)]
    return out


# -- proposals ------------------------------------------------------------------------------------


def new_proposal(
    rpc: Rpc,
    chain: Chain,
    desc: dict[str, Any],
    to: str,
    value: int,
    data: bytes,
    *,
    operation: int = CALL,
    allow_delegatecall: bool = False,
    kind: str = "call",
) -> dict[str, Any]:
    """A proposal at the Safe's current nonce, its hash computed by the contract and offline."""
    if operation == DELEGATECALL and not allow_delegatecall:
        raise SafeError("DELEGATECALL lets the called code act as the Safe (drain it, change owners): refused")
    safe = to_checksum_address(desc["safe"])
    _check_chain(rpc, chain, desc)
    verify_safe(rpc, safe, desc["singleton"])
    state = read_state(rpc, safe)
    stx = safe_tx(to, value, data, operation, state.nonce)
    typed = typed_data(int(desc["chainId"]), safe, stx)
    digest = offline_hash(typed)
    if contract_hash(rpc, safe, stx) != digest:
        raise SafeError("the Safe's getTransactionHash differs from the offline EIP-712 hash: not signing")
    lines, flags = describe(rpc, chain, safe, stx, state.threshold)
    return {
        "format": PROPOSAL_FORMAT,
        "version": 1,
        "chain": chain.key,
        "chainId": int(desc["chainId"]),
        "safe": safe,
        "safeVersion": SAFE_VERSION,
        "singleton": to_checksum_address(desc["singleton"]),
        "kind": kind,
        "safeTx": stx,
        "typedData": typed,
        "safeTxHash": "0x" + digest.hex(),
        "summary": lines,
        "flags": [{"kind": f.kind, "detail": f.detail} for f in flags],
        "signatures": [],
    }


def _check_chain(rpc: Rpc, chain: Chain, doc: dict[str, Any]) -> None:
    got = int(str(rpc.call("eth_chainId")), 16)
    if got != chain.chain_id or int(doc["chainId"]) != chain.chain_id:
        raise SafeError(f"chain id mismatch: node {got}, {chain.key} {chain.chain_id}, file {doc['chainId']}")


@dataclass
class Checked:
    state: SafeState
    typed: dict[str, Any]
    digest: bytes
    lines: list[str]
    flags: list[Flag]


def check_proposal(rpc: Rpc, chain: Chain, proposal: dict[str, Any]) -> Checked:
    """Integrity of a proposal against the chain (see the module's invariants); raises ``SafeError``."""
    if proposal.get("format") != PROPOSAL_FORMAT or proposal.get("version") != 1:
        raise SafeError("not a rucksack-safe-proposal v1 document")
    if proposal.get("chain") != chain.key:
        raise SafeError(f"the proposal is for {proposal.get('chain')}, not {chain.key}")
    _check_chain(rpc, chain, proposal)
    safe = to_checksum_address(proposal["safe"])
    verify_safe(rpc, safe, proposal["singleton"])
    stx = proposal["safeTx"]
    typed = typed_data(chain.chain_id or 0, safe, stx)
    if typed != proposal.get("typedData"):
        raise SafeError("the proposal's typed data does not match its SafeTx fields (tampered?)")
    digest = offline_hash(typed)
    if "0x" + digest.hex() != proposal.get("safeTxHash"):
        raise SafeError("the proposal's safeTxHash does not match its SafeTx fields (tampered?)")
    if contract_hash(rpc, safe, stx) != digest:
        raise SafeError("the Safe's getTransactionHash differs from the offline EIP-712 hash")
    state = read_state(rpc, safe)
    nonce = int(stx["nonce"])
    if nonce < state.nonce:
        raise SafeError(
            f"stale proposal: it is for Safe nonce {nonce} but the Safe is at {state.nonce} "
            "(another transaction was executed first); propose it again"
        )
    seen: set[str] = set()
    for s in proposal.get("signatures", []):
        who = recover(typed, bytes.fromhex(s["signature"].removeprefix("0x")))
        if who != to_checksum_address(s["owner"]):
            raise SafeError(f"a signature claims {s['owner']} but recovers to {who} (tampered proposal?)")
        if who not in state.owners:
            raise SafeError(f"the signature of {who} does not count: not a current owner of {safe}")
        if who in seen:
            raise SafeError(f"{who} signed twice")
        seen.add(who)
    lines, flags = describe(rpc, chain, safe, stx, state.threshold)
    return Checked(state, typed, digest, lines, flags)


def add_signature(rpc: Rpc, chain: Chain, proposal: dict[str, Any], signer: EvmSigner) -> dict[str, Any]:
    """A copy of ``proposal`` with ``signer``'s EIP-712 signature added (must be a current owner)."""
    checked = check_proposal(rpc, chain, proposal)
    me = to_checksum_address(signer.address)
    if me not in checked.state.owners:
        raise SafeError(f"{me} is not an owner of {proposal['safe']}: its signature would not count")
    if any(to_checksum_address(s["owner"]) == me for s in proposal["signatures"]):
        raise SafeError(f"{me} has already signed this proposal")
    sig = bytes(signer.sign_typed_data(checked.typed))
    if recover(checked.typed, sig) != me:
        raise SafeError(f"the signer's signature does not recover to {me}")
    return {**proposal, "signatures": [*proposal["signatures"], {"owner": me, "signature": "0x" + sig.hex()}]}


def status(rpc: Rpc, chain: Chain, proposal: dict[str, Any]) -> dict[str, Any]:
    safe = to_checksum_address(proposal["safe"])
    state = read_state(rpc, safe)
    nonce = int(proposal["safeTx"]["nonce"])
    valid = len(proposal.get("signatures", []))
    if proposal.get("executed"):
        where = "executed"
    elif nonce < state.nonce:
        where = "stale (the Safe's nonce moved past it)"
    elif nonce > state.nonce:
        where = f"waiting for {nonce - state.nonce} earlier transaction(s)"
    else:
        where = "ready to execute" if valid >= state.threshold else f"needs {state.threshold - valid} more signature(s)"
    return {
        "safe": safe,
        "safeTxHash": proposal["safeTxHash"],
        "nonce": nonce,
        "safeNonce": state.nonce,
        "signatures": [s["owner"] for s in proposal.get("signatures", [])],
        "threshold": state.threshold,
        "status": where,
        "summary": describe(rpc, chain, safe, proposal["safeTx"], state.threshold)[0],  # never the stored text
        "executed": proposal.get("executed"),
    }


def safe_info(rpc: Rpc, chain: Chain, desc: dict[str, Any]) -> dict[str, Any]:
    from rucksack.wallet import evm

    safe = to_checksum_address(desc["safe"])
    _check_chain(rpc, chain, desc)
    verify_safe(rpc, safe, desc["singleton"])
    state = read_state(rpc, safe)
    return {**state.to_json(), "chain": chain.key, "version": state.version, "balances": evm.balances(rpc, chain, safe)}
