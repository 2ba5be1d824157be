"""Safe transactions the wallet itself sends: deploy, create, fund, execute -- all reviewed.

Every transaction goes through ``rucksack.wallet.send.prepare_evm_call`` (sign locally, simulate
those bytes with ``rucksack.wallet.evm.review``) and ``Prepared.submit`` (``review.enforce``). The
general review flags calls into Safe contracts (``unknown-contract``) and deployments
(``contract-deployment``); here, and only here, such a flag is *explained* -- moved out of the
flags, with the reason shown -- when all of this holds:

- deployment: the init code is byte-for-byte a safe-eth-py Safe v1.4.1 artifact's creation code;
- ``createProxyWithNonce``: the factory's runtime code is the artifact's, the call data is exactly the
  one built here (verified singleton, our ``setup`` with the owners/threshold shown, the verified
  fallback handler, no module call, no payment);
- ``execTransaction``: the Safe is a verified proxy on a verified singleton, the call data is exactly
  ``execTransaction`` of a proposal that passed ``safe.check_proposal``; the SafeTx inside is then
  decoded in words and its own flags (DELEGATECALL, approvals, unknown contracts) are added;
- funding with the native coin: ``to`` is a verified Safe and the data is empty (its ``receive``).

Anything else stays flagged and needs the caller's explicit override; a failing simulation is
always refused. ``wallet send`` itself is untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address

from rucksack.chains.registry import Chain, get_chain
from rucksack.wallet import send
from rucksack.wallet.keys import EVM
from rucksack.wallet.keystore import Wallet
from rucksack.wallet.multisig import safe as S
from rucksack.wallet.review import CONTRACT_DEPLOYMENT, UNKNOWN_CONTRACT, Flag, parse_units
from rucksack.wallet.rpc import Endpoints


@dataclass
class SafeSend:
    """A prepared (signed, simulated) transaction plus what the Safe context explains about it."""

    prepared: send.Prepared
    summary: list[str]
    explained: list[tuple[Flag, str]] = field(default_factory=list)

    @property
    def review(self) -> Any:
        return self.prepared.review

    def text(self) -> str:
        lines = ["What it does:", *(f"  {s}" for s in self.summary)]
        if self.explained:
            lines.append("Recognized (not flagged here, and why):")
            lines += [f"  {f.text()} -- {why}" for f, why in self.explained]
        return "\n".join(lines) + "\n" + str(self.review.text())

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "explained": [{"kind": f.kind, "detail": f.detail, "why": why} for f, why in self.explained],
            "review": self.review.to_json(),
        }

    def submit(self, *, allow_flagged: bool = False) -> dict[str, Any]:
        return self.prepared.submit(allow_flagged=allow_flagged)


def _explain(prepared: send.Prepared, kinds: set[str], why: str, summary: list[str]) -> SafeSend:
    out = SafeSend(prepared, summary)
    keep = []
    for f in prepared.review.flags:
        if f.kind in kinds:
            out.explained.append((f, why))
        else:
            keep.append(f)
    prepared.review.flags = keep
    return out


def _evm_chain(key: str) -> Chain:
    chain = get_chain(key)
    if not chain.is_evm:
        raise S.SafeError(f"{chain.key} is not an EVM chain (Safe is EVM only)")
    return chain


# -- singleton, factory, handler ------------------------------------------------------------------


def prepare_deploy(wallet: Wallet, endpoints: Endpoints, chain_key: str, role: str, account: int = 0) -> SafeSend:
    code = S.creation_code(role)
    prepared = send.prepare_evm_call(wallet, endpoints, chain_key, None, code, 0, account)
    why = f"init code is exactly safe-eth-py's {S.ARTIFACTS[role]} artifact (Safe v{S.SAFE_VERSION})"
    return _explain(prepared, {CONTRACT_DEPLOYMENT}, why, [f"deploys the {S.ROLE_NAMES[role]}"])


def ensure_deployment(
    wallet: Wallet,
    endpoints: Endpoints,
    chain_key: str,
    *,
    known: S.Deployment | None = None,
    account: int = 0,
    confirm: Callable[[SafeSend], bool] = lambda s: True,
    allow_flagged: bool = False,
) -> tuple[S.Deployment, list[dict[str, Any]]]:
    """``known`` (e.g. from a descriptor) or the canonical addresses if they hold the artifact code;
    otherwise deploy each component from the artifacts (one reviewed transaction each)."""
    rpc = endpoints.rpc(_evm_chain(chain_key).key)
    for dep in [d for d in (known, S.CANONICAL) if d is not None]:
        problems = S.deployment_problems(rpc, dep)
        if not problems:
            return dep, []
        if dep is known:
            raise S.SafeError(f"the given Safe deployment is not usable: {problems}")
    done: dict[str, str] = {}
    results = []
    for role in ("singleton", "factory", "handler"):
        ss = prepare_deploy(wallet, endpoints, chain_key, role, account)
        if not confirm(ss):
            raise S.SafeError(f"declined: deploying the {S.ROLE_NAMES[role]}")
        receipt = ss.submit(allow_flagged=allow_flagged)
        full = rpc.call("eth_getTransactionReceipt", receipt["txHash"])
        done[role] = to_checksum_address(full["contractAddress"])
        results.append({"role": role, "address": done[role], **receipt})
    dep = S.Deployment(**done)
    if S.deployment_problems(rpc, dep):
        raise S.SafeError("the deployed code differs from the artifacts")
    return dep, results


# -- a new Safe -----------------------------------------------------------------------------------


@dataclass
class Creation:
    send: SafeSend
    descriptor: dict[str, Any]


def prepare_create(
    wallet: Wallet,
    endpoints: Endpoints,
    chain_key: str,
    dep: S.Deployment,
    owners: list[str],
    threshold: int = 2,
    salt_nonce: int | None = None,
    account: int = 0,
) -> Creation:
    chain = _evm_chain(chain_key)
    rpc = endpoints.rpc(chain.key)
    owners = S.check_owners(owners, threshold)
    if S.deployment_problems(rpc, dep):
        raise S.SafeError(f"Safe contracts missing or different: {S.deployment_problems(rpc, dep)}")
    salt = S.derived_salt_nonce(owners, threshold) if salt_nonce is None else salt_nonce
    init = S.setup_data(owners, threshold, dep.handler)
    predicted = S.predict_address(dep, init, salt)
    if S.code_at(rpc, predicted):
        raise S.SafeError(f"a Safe already exists at {predicted} (same owners, threshold and salt nonce)")
    data = S.create_data(dep, init, salt)
    sender = wallet.account(EVM, account).address
    simulated = to_checksum_address(decode(["address"], S.eth_call(rpc, dep.factory, data, sender))[0])
    if simulated != predicted:
        raise S.SafeError(f"the factory would create {simulated}, the offline CREATE2 prediction is {predicted}")
    prepared = send.prepare_evm_call(wallet, endpoints, chain.key, dep.factory, data, 0, account)
    summary = [
        f"creates Safe {predicted} (v{S.SAFE_VERSION}) on {chain.key}, {threshold}-of-{len(owners)}",
        *(f"  owner {o}" for o in owners),
        f"  fallback handler {dep.handler}, no modules, no payment, salt nonce {salt}",
    ]
    why = f"{dep.factory} runs SafeProxyFactory v{S.SAFE_VERSION} artifact code; call data built here"
    ss = _explain(prepared, {UNKNOWN_CONTRACT}, why, summary)
    return Creation(ss, S.descriptor(chain, predicted, owners, threshold, dep, salt))


# -- funding and execution ------------------------------------------------------------------------


def prepare_fund(
    wallet: Wallet, endpoints: Endpoints, desc: dict[str, Any], asset: str, amount: str, account: int = 0
) -> SafeSend:
    """A deposit into the Safe: native through its ``receive``, a token by a plain ``transfer``."""
    chain = _evm_chain(desc["chain"])
    rpc = endpoints.rpc(chain.key)
    safe = to_checksum_address(desc["safe"])
    S.verify_safe(rpc, safe, desc["singleton"])
    resolved = send.resolve_asset(chain, asset)
    if resolved != "native":
        prepared = send.prepare_transfer(wallet, endpoints, chain.key, resolved, safe, amount, account)
        return SafeSend(prepared, [f"sends {amount} {asset} to Safe {safe}"])
    wei = parse_units(amount, chain.native_decimals)
    prepared = send.prepare_evm_call(wallet, endpoints, chain.key, safe, b"", wei, account)
    why = "a verified Safe v1.4.1 proxy; empty call data runs only its receive (logs SafeReceived)"
    return _explain(prepared, {UNKNOWN_CONTRACT}, why, [f"sends {amount} {chain.native_symbol} to Safe {safe}"])


def prepare_execute(
    wallet: Wallet, endpoints: Endpoints, proposal: dict[str, Any], account: int = 0
) -> tuple[SafeSend, S.Checked]:
    """``execTransaction`` of a checked proposal with at least threshold signatures, sorted by owner."""
    chain = _evm_chain(proposal["chain"])
    rpc = endpoints.rpc(chain.key)
    checked = S.check_proposal(rpc, chain, proposal)
    nonce = int(proposal["safeTx"]["nonce"])
    if nonce != checked.state.nonce:
        raise S.SafeError(f"not yet: the Safe is at nonce {checked.state.nonce}, this proposal is for {nonce}")
    sigs = proposal["signatures"]
    if len(sigs) < checked.state.threshold:
        raise S.SafeError(f"{len(sigs)} signature(s), the Safe needs {checked.state.threshold}")
    data = S.exec_data(proposal["safeTx"], S.packed_signatures(sigs))
    prepared = send.prepare_evm_call(wallet, endpoints, chain.key, proposal["safe"], data, 0, account)
    ss = _explain(
        prepared,
        {UNKNOWN_CONTRACT},
        "a verified Safe v1.4.1 proxy; the call is execTransaction of the checked proposal below",
        [f"execTransaction on Safe {proposal['safe']} (nonce {nonce}, safeTxHash {proposal['safeTxHash']})"]
        + [f"  {line}" for line in checked.lines]
        + [f"  signed by {s['owner']}" for s in sorted(sigs, key=lambda s: int(s["owner"], 16))],
    )
    prepared.review.flags.extend(checked.flags)
    if prepared.review.ok:
        prepared.review.changes.extend(S.predicted_changes(rpc, chain, proposal["safe"], proposal["safeTx"]))
    return ss, checked


def executed(proposal: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    return {**proposal, "executed": {"txHash": result["txHash"], "gasUsed": result["gasUsed"]}}
