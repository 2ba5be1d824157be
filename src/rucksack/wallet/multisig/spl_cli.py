"""``rucksack wallet multisig create|fund|propose|approve|merge|execute|show``: SPL Token m-of-n on Solana/Eclipse.

- Files: a public descriptor (``create --out``) and proposal files (``propose --out``); both JSON,
  written atomically (0600). Approvals rewrite the proposal file with one more signature.
- Everything that signs a transaction the key's owner pays for (create, fund) or that completes a
  transaction (the last approve, execute) goes through the wallet's review: simulate the signed
  bytes, print the balance changes, ask unless ``--yes``, refuse flags without ``--allow-flagged``,
  never send a failing simulation. ``approve`` always prints the message decoded into words.
- ``execute`` needs no key: the fee payer signed at propose time; anyone holding the file can send.
- Signers come from the keystore (``--keystore``, ``--account N``); the library takes any
  ``SvmSigner`` (a hardware device later).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rucksack.wallet.cli import (
    _endpoints,
    _open,
    _print,
    _say,
    confirm,
    confirm_and_submit,
    run,
    signing_options,
)


def _signer(args: argparse.Namespace) -> Any:
    """The keystore's SVM account, or ``--device``'s (then no keystore password is asked)."""
    from rucksack.wallet.hardware.cli import device_signer

    on_device = device_signer(args, "svm")
    if on_device is not None:
        return on_device
    wallet = _open(args)
    return wallet.signer(wallet.account("svm", args.account))


def _reviewed(args: argparse.Namespace, prepared: Any, extra: dict[str, Any]) -> int:
    """The wallet's confirm-and-submit, sending through ``spl.execute`` (it names an expired blockhash)."""
    from rucksack.wallet.multisig import spl

    return confirm_and_submit(args, prepared, extra, submit=spl.execute)


def _units(rpc: Any, chain_key: str, asset: str, amount: str) -> int:
    from rucksack.chains.registry import get_chain
    from rucksack.wallet.multisig import spl
    from rucksack.wallet.review import parse_units

    chain = get_chain(chain_key)
    return parse_units(amount, spl.mint_decimals(rpc, chain, spl.resolve_mint(chain, asset)))


def _split(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


# -- commands -----------------------------------------------------------------------------------


def cmd_create(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import spl

    out = Path(args.out).expanduser()
    if out.exists():
        raise FileExistsError(f"{out} exists; refusing to overwrite it")
    signer = _signer(args)
    rpc = _endpoints(args).rpc(args.chain)
    desc, prepared = spl.prepare_create(rpc, args.chain, signer, _split(args.signers), args.threshold)
    _say(f"New {desc.threshold}-of-{len(desc.signers)} SPL multisig {desc.address} on {desc.chain}:")
    _say("  signers: " + ", ".join(desc.signers))
    for v in desc.vaults:
        _say(f"  {v.asset} vault: {v.address}")
    code = _reviewed(args, prepared, {"multisig": desc.to_json()})
    if code == 0:
        desc.save(out)
        _say(f"Descriptor written to {out} (public: share it with the co-signers)")
    return code


def cmd_fund(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import spl

    desc = spl.Descriptor.load(Path(args.multisig).expanduser())
    rpc = _endpoints(args).rpc(desc.chain)
    units = _units(rpc, desc.chain, args.asset, args.amount)
    prepared = spl.prepare_fund(rpc, desc, _signer(args), args.asset, units)
    return _reviewed(args, prepared, {"multisig": desc.address})


def cmd_propose(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import spl

    out = Path(args.out).expanduser()
    if out.exists():
        raise FileExistsError(f"{out} exists; refusing to overwrite it")
    desc = spl.Descriptor.load(Path(args.multisig).expanduser())
    rpc = _endpoints(args).rpc(desc.chain)
    units = _units(rpc, desc.chain, args.asset, args.amount)
    signers = _split(args.signers) if args.signers else None
    proposal = spl.propose(rpc, desc, _signer(args), args.asset, units, args.to, signers)
    words, _unknown = spl.describe(proposal.message, proposal.chain)
    _say(f"Proposal: {proposal.summary}")
    _say("\n".join(words))
    proposal.save(out, overwrite=False)
    _print({"proposal": str(out), **spl.status(None, proposal)})
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import spl
    from rucksack.wallet.review import enforce

    path = Path(args.proposal).expanduser()
    proposal = spl.Proposal.load(path)
    proposal.verify()  # before anything is shown as if it were genuine
    words, unknown = spl.describe(proposal.message, proposal.chain)
    _say(f"Proposal: {proposal.summary}")
    _say("What the transaction does (decoded from the message itself):")
    _say("\n".join(words))
    if unknown and not args.allow_flagged:
        raise spl.MultisigError("the message has instructions the wallet cannot read; refused (--allow-flagged)")
    rpc = _endpoints(args).rpc(proposal.chain)
    prepared = spl.approve(rpc, proposal, _signer(args))
    if prepared is not None:
        _say(prepared.review.text())
        enforce(prepared.review, allow_flagged=args.allow_flagged)
    else:
        _say(f"Still missing after this signature: {', '.join(proposal.missing())} (no simulation before then)")
    if not confirm(args, "Add your signature to the proposal?"):
        _print({"approved": False, **spl.status(None, proposal)})
        return 1
    proposal.save(path)
    out = {"approved": True, "proposal": str(path), **spl.status(None, proposal)}
    if prepared is not None:
        out["review"] = prepared.review.to_json()
    _print(out)
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import spl

    path = Path(args.proposal).expanduser()
    proposal = spl.Proposal.load(path)
    for other in args.other:
        proposal.merge(spl.Proposal.load(Path(other).expanduser()))
    proposal.save(path)
    _print({"proposal": str(path), **spl.status(None, proposal)})
    return 0


def cmd_execute(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import spl

    proposal = spl.Proposal.load(Path(args.proposal).expanduser())
    words, _unknown = spl.describe(proposal.message, proposal.chain)
    _say(f"Proposal: {proposal.summary}")
    _say("\n".join(words))
    rpc = _endpoints(args).rpc(proposal.chain)
    return _reviewed(args, spl.prepare_execute(rpc, proposal), {"proposal": str(args.proposal)})


def cmd_show(args: argparse.Namespace) -> int:
    from rucksack.wallet.multisig import spl

    out: dict[str, Any] = {}
    endpoints = _endpoints(args)
    if args.multisig:
        desc = spl.Descriptor.load(Path(args.multisig).expanduser())
        out["multisig"] = desc.to_json()
        out["vaults"] = spl.vault_balances(endpoints.rpc(desc.chain), desc)
    if args.proposal:
        proposal = spl.Proposal.load(Path(args.proposal).expanduser())
        out["proposal"] = spl.status(endpoints.rpc(proposal.chain), proposal)
        out["proposal"]["instructions"] = spl.describe(proposal.message, proposal.chain)[0]
    if not out:
        raise ValueError("give --multisig FILE and/or a proposal file")
    _print(out)
    return 0


# -- parser -------------------------------------------------------------------------------------


def add_parser(wsub: Any, common: Any) -> None:
    """``rucksack wallet multisig ...`` (SPL Token multisig on the SVM chains)."""
    from rucksack.wallet.hardware.cli import add_device_options

    m = wsub.add_parser("multisig", help="m-of-n SPL Token multisig on Solana/Eclipse (chain-enforced)")
    msub = m.add_subparsers(dest="multisig_command", required=True)

    def cmd(name: str, help_text: str, func: Any, *, account: bool = True, confirm: bool = True) -> Any:
        p = msub.add_parser(name, help=help_text)
        common(p, network=True)
        if account:
            p.add_argument("--account", type=int, default=0, help="which SVM account of the keystore signs")
        if confirm:
            signing_options(p)
        p.set_defaults(func=run, wallet_func=func)
        return p

    p = cmd("create", "new multisig account + USDC and wSOL vaults; writes the public descriptor", cmd_create)
    p.add_argument("--chain", required=True, help="solana or eclipse")
    p.add_argument("--signers", required=True, help="comma-separated owner addresses (1 to 11)")
    p.add_argument("--threshold", type=int, required=True, help="signatures needed (m of n)")
    p.add_argument("--out", required=True, help="descriptor file to write (never overwritten)")

    p = cmd("fund", "deposit into a vault (SOL is wrapped: transfer + SyncNative)", cmd_fund)
    p.add_argument("--multisig", required=True, help="descriptor file")
    p.add_argument("--asset", required=True, help="SOL, USDC or a mint address")
    p.add_argument("--amount", required=True)

    p = cmd("propose", "build a payout from a vault, sign it as the proposer (fee payer)", cmd_propose, confirm=False)
    p.add_argument("--multisig", required=True, help="descriptor file")
    p.add_argument("--asset", required=True, help="SOL, USDC or a mint address")
    p.add_argument("--to", required=True, help="recipient wallet address")
    p.add_argument("--amount", required=True)
    p.add_argument("--signers", default=None, help="owners who will sign (default: you + the next owners)")
    p.add_argument("--out", required=True, help="proposal file to write (never overwritten)")

    p = cmd("approve", "check, show and sign a proposal; writes the signature into the file", cmd_approve)
    p.add_argument("proposal", help="proposal file")
    add_device_options(p)

    p = cmd(
        "merge", "copy verified signatures from copies of the same proposal", cmd_merge, account=False, confirm=False
    )
    p.add_argument("proposal", help="proposal file to update")
    p.add_argument("other", nargs="+", help="copies signed by other owners")

    p = cmd("execute", "send a fully signed proposal (simulated and reviewed first)", cmd_execute, account=False)
    p.add_argument("proposal", help="proposal file")

    p = cmd(
        "show", "vault balances of a descriptor, and/or a proposal's status", cmd_show, account=False, confirm=False
    )
    p.add_argument("proposal", nargs="?", default=None, help="proposal file")
    p.add_argument("--multisig", default=None, help="descriptor file")
