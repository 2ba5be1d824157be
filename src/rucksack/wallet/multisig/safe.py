"""Safe v1.4.1 on the EVM chains: contracts, descriptors, SafeTx proposals, signatures, decoding.

The chain enforces the threshold: ``execTransaction`` checks the signatures itself. This package
builds what the owners sign, checks what they signed, and describes it in plain words; it never
decides on its own that a signature set is enough to move funds.

- ``safe_contracts``: the v1.4.1 artifacts, deployments, code verification, on-chain Safe state.
- ``safe_tx``: SafeTx fields, EIP-712 typed data and hashes, signatures, ``execTransaction`` data.
- ``safe_create``: owner checks, setup and CREATE2 data, descriptor/deployment files, ``load_doc``/``save_doc``.
- ``safe_words``: ``describe`` (plain words and review flags) and ``predicted_changes``.
- this module: proposals (``new_proposal``, ``check_proposal``, ``add_signature``, ``status``) and
  ``safe_info``; it re-exports the public names of the four above, so ``safe.X`` works for all.

Invariants:

- **The chain is the truth.** Owners, threshold and nonce are read from the Safe (``getOwners``,
  ``getThreshold``, ``nonce``) for every proposal, approval and execution; a descriptor's owner list
  is informational.
- **What is signed is what is shown.** A proposal's EIP-712 typed data is rebuilt from its SafeTx
  fields on every use; the offline EIP-712 hash, the contract's ``getTransactionHash`` and the stored
  ``safeTxHash`` must all agree, and every stored signature must recover (EIP-712, v in {27, 28}) to a
  current owner, or the proposal is refused as tampered.
- **CALL only.** ``operation`` 1 (DELEGATECALL runs foreign code as the Safe: it can rewrite owners
  or drain it) is refused unless the caller passes an explicit override, and stays flagged after.
- Refunds are never used (see ``safe_tx``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address

from rucksack.chains.registry import Chain
from rucksack.wallet.multisig.safe_contracts import (
    ARTIFACTS,
    CANONICAL,
    ROLE_NAMES,
    SAFE_VERSION,
    SENTINEL,
    ZERO,
    Deployment,
    SafeError,
    SafeState,
    artifact,
    calldata,
    code_at,
    creation_code,
    deployment_problems,
    eth_call,
    prev_owner,
    read_state,
    runtime_code,
    verify_safe,
)
from rucksack.wallet.multisig.safe_create import (
    CREATE_SIG,
    DEPLOYMENT_FORMAT,
    DESCRIPTOR_FORMAT,
    SETUP_SIG,
    SETUP_TYPES,
    check_owners,
    create_data,
    derived_salt_nonce,
    descriptor,
    load_deployment,
    load_doc,
    predict_address,
    save_doc,
    setup_data,
)
from rucksack.wallet.multisig.safe_tx import (
    CALL,
    DELEGATECALL,
    EXEC_SIG,
    HASH_SIG,
    SAFE_TX_TYPE,
    TX_TYPES,
    contract_hash,
    exec_data,
    offline_hash,
    packed_signatures,
    recover,
    safe_tx,
    typed_data,
)
from rucksack.wallet.multisig.safe_words import DELEGATECALL_FLAG, OWNER_CALLS, describe, predicted_changes
from rucksack.wallet.review import Flag
from rucksack.wallet.rpc import Rpc
from rucksack.wallet.signers import EvmSigner

PROPOSAL_FORMAT = "rucksack-safe-proposal"

__all__ = [
    "ARTIFACTS",
    "CALL",
    "CANONICAL",
    "CREATE_SIG",
    "DELEGATECALL",
    "DELEGATECALL_FLAG",
    "DEPLOYMENT_FORMAT",
    "DESCRIPTOR_FORMAT",
    "EXEC_SIG",
    "HASH_SIG",
    "OWNER_CALLS",
    "PROPOSAL_FORMAT",
    "ROLE_NAMES",
    "SAFE_TX_TYPE",
    "SAFE_VERSION",
    "SENTINEL",
    "SETUP_SIG",
    "SETUP_TYPES",
    "TX_TYPES",
    "ZERO",
    "Checked",
    "Deployment",
    "SafeError",
    "SafeState",
    "add_signature",
    "artifact",
    "calldata",
    "check_owners",
    "check_proposal",
    "code_at",
    "contract_hash",
    "create_data",
    "creation_code",
    "deployment_problems",
    "derived_salt_nonce",
    "describe",
    "descriptor",
    "eth_call",
    "exec_data",
    "load_deployment",
    "load_doc",
    "new_proposal",
    "offline_hash",
    "packed_signatures",
    "predict_address",
    "predicted_changes",
    "prev_owner",
    "read_state",
    "recover",
    "runtime_code",
    "safe_info",
    "safe_tx",
    "save_doc",
    "setup_data",
    "status",
    "typed_data",
    "verify_safe",
]


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
