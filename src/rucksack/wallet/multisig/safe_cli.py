"""``rucksack wallet safe deploy|create|fund|show|propose|swap-owner|add-owner|remove-owner|
change-threshold|approve|execute``: a Safe v1.4.1 multisig on the EVM chains (docs/wallet.md).

- One JSON object on stdout per command; the decoded SafeTx, reviews, prompts and errors on stderr.
- Every transaction the wallet sends (deploy, create, fund, execute) is signed locally, simulated,
  shown and confirmed (unless ``--yes``) through the wallet's reviewed send path; flags need
  ``--allow-flagged``; a failing simulation is never sent.
- Signing a SafeTx (``propose`` as an owner, ``approve``) shows the decoded SafeTx first; a flagged
  one (DELEGATECALL, approvals, unknown contracts) is signed only with ``--allow-flagged``.
- Files: the Safe descriptor and proposals are written atomically; new files are never overwritten.
"""

from __future__ import annotations

import argparse
from typing import Any

from rucksack.wallet.cli import _endpoints, _open, _print, _say, confirm, review_gate, run, signing_options


def _send(args: argparse.Namespace, ss: Any, extra: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """Show a SafeSend, stop if the simulation failed or the user declines, else submit."""
    stopped = review_gate(args, ss.text(), ss.review.ok, {**extra, **ss.to_json()})
    if stopped is not None:
        return stopped, None
    return 0, ss.submit(allow_flagged=args.allow_flagged)


def _rpc_chain(args: argparse.Namespace, key: str) -> tuple[Any, Any]:
    from rucksack.chains.registry import get_chain

    chain = get_chain(key)
    return _endpoints(args).rpc(chain.key), chain


def _evm_signer(wallet: Any, account: int) -> Any:
    from rucksack.wallet.keys import EVM
    from rucksack.wallet.signers import LocalEvmSigner

    return LocalEvmSigner(wallet.signer(wallet.account(EVM, account)))


def _sign(args: argparse.Namespace, signer: Any, proposal: dict[str, Any], *, ask: bool) -> dict[str, Any]:
    from rucksack.wallet.multisig import safe as S
    from rucksack.wallet.signers import SignerRefused

    rpc, chain = _rpc_chain(args, proposal["chain"])
    checked = S.check_proposal(rpc, chain, proposal)
    _say(f"SafeTx {proposal['safeTxHash']} on {chain.key}, Safe nonce {proposal['safeTx']['nonce']}:")
    for line in checked.lines:
        _say(f"  {line}")
    for f in checked.flags:
        _say(f"  WARNING {f.text()}")
    if checked.flags and not args.allow_flagged:
        raise SignerRefused("refused: the SafeTx is flagged (pass --allow-flagged to sign it anyway)")
    if ask and not confirm(args, "Sign this SafeTx?"):
        raise SignerRefused("declined at the prompt")
    return S.add_signature(rpc, chain, proposal, signer)


# -- commands -------------------------------------------------------------------------------------


def _deployment(args: argparse.Namespace, wallet: Any) -> tuple[Any, list[dict[str, Any]]]:
    from rucksack.wallet.multisig import safe as S
    from rucksack.wallet.multisig import safe_deploy as D

    known = S.load_deployment(args.deployment) if getattr(args, "deployment", None) else None

    def shown_and_confirmed(ss: Any) -> bool:
        _say(ss.text())
        return bool(ss.review.ok) and confirm(args, "Sign and send?")

    return D.ensure_deployment(
        wallet,
        _endpoints(args),
        args.chain,
        known=known,
        account=args.account,
        confirm=shown_and_confirmed,
        allow_flagged=args.allow_flagged,
    )


def cmd_deploy(args: argparse.Namespace) -> int:
    from rucksack.chains.registry import get_chain
    from rucksack.wallet.multisig import safe as S

    wallet = _open(args)
    dep, sent = _deployment(args, wallet)
    chain = get_chain(args.chain)
    doc = {
        "format": S.DEPLOYMENT_FORMAT,
        "version": 1,
        "chain": chain.key,
        "chainId": chain.chain_id,
        "safeVersion": S.SAFE_VERSION,
        **dep.to_json(),
    }
    if args.out:
        S.save_doc(args.out, doc, overwrite=False)
    _say("Safe contracts " + ("deployed" if sent else "already present (artifact code verified)"))
    _print({**doc, "deployed": sent})
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import safe as S
    from rucksack.wallet.multisig import safe_deploy as D

    wallet = _open(args)
    dep, sent = _deployment(args, wallet)
    salt = int(args.salt_nonce) if args.salt_nonce is not None else None
    creation = D.prepare_create(
        wallet, _endpoints(args), args.chain, dep, args.owner, args.threshold, salt, args.account
    )
    code, result = _send(args, creation.send, {"safe": creation.descriptor["safe"]})
    if result is None:
        return code
    S.save_doc(args.out, creation.descriptor, overwrite=False)
    _say(f"Safe {creation.descriptor['safe']} created; descriptor written to {args.out}")
    _print({**creation.descriptor, "sent": True, "deployed": sent, **result, **creation.send.to_json()})
    return 0


def cmd_fund(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import safe as S
    from rucksack.wallet.multisig import safe_deploy as D

    wallet = _open(args)
    desc = S.load_doc(args.safe, S.DESCRIPTOR_FORMAT)
    ss = D.prepare_fund(wallet, _endpoints(args), desc, args.asset, args.amount, args.account)
    code, result = _send(args, ss, {"safe": desc["safe"]})
    if result is None:
        return code
    _print({"safe": desc["safe"], "sent": True, **result, **ss.to_json()})
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import safe as S

    out: dict[str, Any] = {}
    if args.safe:
        desc = S.load_doc(args.safe, S.DESCRIPTOR_FORMAT)
        rpc, chain = _rpc_chain(args, desc["chain"])
        out = S.safe_info(rpc, chain, desc)
        if args.update and (out["owners"], out["threshold"]) != (desc["owners"], desc["threshold"]):
            S.save_doc(args.safe, {**desc, "owners": out["owners"], "threshold": out["threshold"]})
            _say(f"descriptor {args.safe} updated to the on-chain owners and threshold")
    if args.proposal:
        proposal = S.load_doc(args.proposal, S.PROPOSAL_FORMAT)
        rpc, chain = _rpc_chain(args, proposal["chain"])
        out["proposal"] = S.status(rpc, chain, proposal)
    if not out:
        raise ValueError("give --safe and/or --proposal")
    _print(out)
    return 0


def _propose(args: argparse.Namespace, to: str, value: int, data: bytes, kind: str, operation: int = 0) -> int:
    from rucksack.wallet.keys import EVM
    from rucksack.wallet.multisig import safe as S

    desc = S.load_doc(args.safe, S.DESCRIPTOR_FORMAT)
    rpc, chain = _rpc_chain(args, desc["chain"])
    proposal = S.new_proposal(
        rpc,
        chain,
        desc,
        to,
        value,
        data,
        operation=operation,
        allow_delegatecall=getattr(args, "allow_delegatecall", False),
        kind=kind,
    )
    signed = False
    if not args.no_sign:
        wallet = _open(args)
        me = wallet.account(EVM, args.account).address
        if me in S.read_state(rpc, proposal["safe"]).owners:
            proposal = _sign(args, _evm_signer(wallet, args.account), proposal, ask=False)
            signed = True
        else:
            _say(f"{me} is not an owner: the proposal is not signed by the proposer")
    S.save_doc(args.out, proposal, overwrite=False)
    _say("\n".join(proposal["summary"]) + f"\nProposal written to {args.out} ({len(proposal['signatures'])} signature)")
    _print({"proposal": args.out, "signedByProposer": signed, **S.status(rpc, chain, proposal)})
    return 0


def cmd_propose(args: argparse.Namespace) -> int:
    from rucksack.chains.evm import erc20
    from rucksack.wallet.multisig import safe as S
    from rucksack.wallet.review import parse_units
    from rucksack.wallet.send import asset_decimals, resolve_asset

    operation = S.DELEGATECALL if args.operation == "delegatecall" else S.CALL
    if args.data is not None:
        data = bytes.fromhex(args.data.removeprefix("0x"))
        return _propose(args, args.to, int(args.value_wei), data, "call", operation)
    if not (args.asset and args.amount):
        raise ValueError("give --asset and --amount (or --data for a raw call)")
    desc = S.load_doc(args.safe, S.DESCRIPTOR_FORMAT)
    rpc, chain = _rpc_chain(args, desc["chain"])
    asset = resolve_asset(chain, args.asset)
    units = parse_units(args.amount, asset_decimals(chain, rpc, asset))
    if asset == "native":
        return _propose(args, args.to, units, b"", "native", operation)
    return _propose(args, asset, 0, erc20.transfer_data(args.to, units), "erc20", operation)


def _owner_change(args: argparse.Namespace, sig: str, types: list[str], values: list[Any], kind: str) -> int:
    from rucksack.wallet.multisig import safe as S

    desc = S.load_doc(args.safe, S.DESCRIPTOR_FORMAT)
    return _propose(args, desc["safe"], 0, S.calldata(sig, types, values), kind)


def _state(args: argparse.Namespace) -> Any:
    from rucksack.wallet.multisig import safe as S

    desc = S.load_doc(args.safe, S.DESCRIPTOR_FORMAT)
    rpc, _ = _rpc_chain(args, desc["chain"])
    return S.read_state(rpc, desc["safe"])


def cmd_swap_owner(args: argparse.Namespace) -> int:
    from eth_utils.address import to_checksum_address

    from rucksack.wallet.multisig import safe as S

    state = _state(args)
    old, new = to_checksum_address(args.old), to_checksum_address(args.new)
    if new in state.owners:
        raise S.SafeError(f"{new} is already an owner")
    values = [S.prev_owner(state.owners, old), old, new]
    return _owner_change(args, "swapOwner(address,address,address)", ["address"] * 3, values, "swap-owner")


def cmd_add_owner(args: argparse.Namespace) -> int:
    from eth_utils.address import to_checksum_address

    state = _state(args)
    threshold = args.threshold or state.threshold
    values = [to_checksum_address(args.owner), threshold]
    return _owner_change(args, "addOwnerWithThreshold(address,uint256)", ["address", "uint256"], values, "add-owner")


def cmd_remove_owner(args: argparse.Namespace) -> int:
    from eth_utils.address import to_checksum_address

    from rucksack.wallet.multisig import safe as S

    state = _state(args)
    owner = to_checksum_address(args.owner)
    threshold = args.threshold or min(state.threshold, len(state.owners) - 1)
    values = [S.prev_owner(state.owners, owner), owner, threshold]
    types = ["address", "address", "uint256"]
    return _owner_change(args, "removeOwner(address,address,uint256)", types, values, "remove-owner")


def cmd_change_threshold(args: argparse.Namespace) -> int:
    return _owner_change(args, "changeThreshold(uint256)", ["uint256"], [args.threshold], "change-threshold")


def cmd_approve(args: argparse.Namespace) -> int:
    from rucksack.wallet.hardware.cli import device_signer
    from rucksack.wallet.multisig import safe as S

    proposal = S.load_doc(args.proposal, S.PROPOSAL_FORMAT)
    signer = device_signer(args, "evm") or _evm_signer(_open(args), args.account)  # no password for a device
    proposal = _sign(args, signer, proposal, ask=True)
    S.save_doc(args.proposal, proposal)
    rpc, chain = _rpc_chain(args, proposal["chain"])
    _print({"proposal": args.proposal, **S.status(rpc, chain, proposal)})
    return 0


def cmd_execute(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import safe as S
    from rucksack.wallet.multisig import safe_deploy as D

    proposal = S.load_doc(args.proposal, S.PROPOSAL_FORMAT)
    if proposal.get("executed"):
        raise S.SafeError(f"already executed in {proposal['executed']['txHash']}")
    wallet = _open(args)
    ss, _ = D.prepare_execute(wallet, _endpoints(args), proposal, args.account)
    code, result = _send(args, ss, {"proposal": args.proposal})
    if result is None:
        return code
    done = D.executed(proposal, result)
    S.save_doc(args.proposal, done)
    rpc, _ = _rpc_chain(args, proposal["chain"])
    state = S.read_state(rpc, proposal["safe"])
    _say(f"Executed: {result['txHash']}; Safe nonce now {state.nonce}, owners {', '.join(state.owners)}")
    _print({"proposal": args.proposal, "sent": True, **result, **ss.to_json(), "safeState": state.to_json()})
    return 0


# -- parser ---------------------------------------------------------------------------------------


def add_parser(wsub: Any, common: Any) -> None:
    """Add ``rucksack wallet safe ...`` to ``wsub``."""
    from rucksack.wallet.hardware.cli import add_device_options

    top = wsub.add_parser("safe", help="Safe v1.4.1 multisig on the EVM chains (2-of-3, guardian recovery)")
    sub = top.add_subparsers(dest="safe_command", required=True)

    def sender(p: argparse.ArgumentParser) -> None:
        common(p, network=True)
        p.add_argument("--account", type=int, default=0, help="the wallet's EVM account that signs / pays gas")
        signing_options(p)

    def proposer(p: argparse.ArgumentParser) -> None:
        sender(p)
        p.add_argument("--safe", required=True, help="the Safe descriptor JSON (from `safe create`)")
        p.add_argument("--out", required=True, help="new proposal JSON file")
        p.add_argument("--no-sign", action="store_true", help="do not add the proposer's signature")

    p = sub.add_parser("deploy", help="make sure singleton, factory and fallback handler exist (else deploy them)")
    sender(p)
    p.add_argument("--chain", required=True)
    p.add_argument("--deployment", default=None, help="addresses from an earlier deploy (verified, not redeployed)")
    p.add_argument("--out", default=None, help="write the deployment addresses to this new file")
    p.set_defaults(func=run, wallet_func=cmd_deploy)

    p = sub.add_parser("create", help="create a Safe proxy with setup(owners, threshold)")
    sender(p)
    p.add_argument("--chain", required=True)
    p.add_argument("--owner", action="append", required=True, help="owner address (repeat; e.g. key, device, guardian)")
    p.add_argument("--threshold", type=int, default=2)
    p.add_argument("--salt-nonce", default=None, help="CREATE2 salt nonce (default: derived from owners+threshold)")
    p.add_argument("--deployment", default=None, help="deployment or descriptor file naming the Safe contracts")
    p.add_argument("--out", required=True, help="new Safe descriptor JSON file")
    p.set_defaults(func=run, wallet_func=cmd_create)

    p = sub.add_parser("fund", help="send ETH or a token into the Safe (reviewed)")
    sender(p)
    p.add_argument("--safe", required=True)
    p.add_argument("--asset", required=True)
    p.add_argument("--amount", required=True)
    p.set_defaults(func=run, wallet_func=cmd_fund)

    p = sub.add_parser("show", help="owners, threshold, nonce, balances; a proposal's status")
    common(p, network=True)
    p.add_argument("--safe", default=None)
    p.add_argument("--proposal", default=None)
    p.add_argument("--update", action="store_true", help="rewrite the descriptor's owners/threshold from the chain")
    p.set_defaults(func=run, wallet_func=cmd_show)

    p = sub.add_parser("propose", help="a SafeTx sending native coin or a token (or --data for a raw call)")
    proposer(p)
    p.add_argument("--to", required=True)
    p.add_argument("--asset", default=None)
    p.add_argument("--amount", default=None)
    p.add_argument("--data", default=None, help="raw call data (hex) instead of --asset/--amount")
    p.add_argument("--value-wei", default="0", help="with --data: native value in wei")
    p.add_argument("--operation", default="call", choices=["call", "delegatecall"])
    p.add_argument("--allow-delegatecall", action="store_true", help="explicit override for --operation delegatecall")
    p.set_defaults(func=run, wallet_func=cmd_propose)

    for name in ("swap-owner", "recover"):
        p = sub.add_parser(name, help="guardian recovery: replace owner --old with --new (a SafeTx)")
        proposer(p)
        p.add_argument("--old", required=True, help="the lost owner")
        p.add_argument("--new", required=True, help="its replacement")
        p.set_defaults(func=run, wallet_func=cmd_swap_owner)

    p = sub.add_parser("add-owner", help="a SafeTx adding an owner")
    proposer(p)
    p.add_argument("--owner", required=True)
    p.add_argument("--threshold", type=int, default=None, help="new threshold (default: unchanged)")
    p.set_defaults(func=run, wallet_func=cmd_add_owner)

    p = sub.add_parser("remove-owner", help="a SafeTx removing an owner")
    proposer(p)
    p.add_argument("--owner", required=True)
    p.add_argument("--threshold", type=int, default=None, help="new threshold (default: unchanged if possible)")
    p.set_defaults(func=run, wallet_func=cmd_remove_owner)

    p = sub.add_parser("change-threshold", help="a SafeTx changing the threshold")
    proposer(p)
    p.add_argument("--threshold", type=int, required=True)
    p.set_defaults(func=run, wallet_func=cmd_change_threshold)

    p = sub.add_parser("approve", help="show the decoded SafeTx and add your EIP-712 signature")
    sender(p)
    p.add_argument("proposal")
    add_device_options(p)
    p.set_defaults(func=run, wallet_func=cmd_approve)

    p = sub.add_parser("execute", help="execTransaction with the collected signatures (you pay the gas)")
    sender(p)
    p.add_argument("proposal")
    p.set_defaults(func=run, wallet_func=cmd_execute)
