"""``rucksack wallet device list | address | sign-message | send``: hardware (and software) devices.

- ``--device SPEC`` (see ``spec.SPEC_HELP``): ``software:<mnemonic-file>`` (tests/demos: the key
  is in this process; it shows its screen on stderr and reads y/N from stdin), ``trezor[:<path>]``,
  ``ledger[:hid]``, ``ledger:tcp:<host>[:<port>]`` (Speculos).
- The account is ``--path P`` or ``--index N`` with ``--scheme`` (the keystore's schemes,
  ``rucksack.wallet.keys.SCHEMES``; default ``backpack``), so a device holding the wallet's words
  shows the wallet's addresses.
- Output: one JSON object on stdout; screens, prompts and errors on stderr. A refusal on the
  device exits 3 (``SignerRefused``, mapped by ``rucksack.wallet.cli.run``), a missing device or
  library exits 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rucksack.wallet.hardware.spec import SPEC_HELP


def _path(args: argparse.Namespace, family: str) -> str:
    from rucksack.wallet.hardware.base import normalize_path
    from rucksack.wallet.keys import SCHEMES

    if args.path:
        return normalize_path(args.path)
    if args.scheme == "sollet":
        raise ValueError("the sollet scheme is not SLIP-10: no hardware wallet derives it")
    try:
        template = SCHEMES[family][args.scheme]
    except KeyError:
        raise ValueError(f"unknown {family} scheme {args.scheme!r}; known: {', '.join(SCHEMES[family])}") from None
    return normalize_path(template.format(i=args.index))


def add_device_options(p: argparse.ArgumentParser) -> None:
    """``--device SPEC`` (+ ``--device-path``) for commands that sign: multisig approvals."""
    p.add_argument("--device", default=None, metavar="SPEC", help="sign on this device, not the keystore: " + SPEC_HELP)
    p.add_argument("--device-path", default=None, help="BIP-32 path on the device (default: --account, backpack)")


def device_signer(args: argparse.Namespace, family: str) -> Any | None:
    """The device's ``SvmSigner``/``EvmSigner`` when ``--device`` was given, else None (use the keystore)."""
    if not getattr(args, "device", None):
        return None
    from rucksack.wallet.hardware.base import normalize_path
    from rucksack.wallet.hardware.spec import open_device
    from rucksack.wallet.keys import SCHEMES

    index = getattr(args, "account", 0) or 0
    path = normalize_path(args.device_path or SCHEMES[family]["backpack"].format(i=index))
    device = open_device(args.device)
    return device.svm_signer(path) if family == "svm" else device.evm_signer(path)


def _device(args: argparse.Namespace) -> Any:
    from rucksack.wallet.hardware.spec import open_device

    return open_device(args.device)


def cmd_list(args: argparse.Namespace) -> int:
    from rucksack.wallet.cli import _print
    from rucksack.wallet.hardware.spec import list_devices

    _print(list_devices())
    return 0


def cmd_address(args: argparse.Namespace) -> int:
    from rucksack.chains.registry import get_chain
    from rucksack.wallet.cli import _print

    chain = get_chain(args.chain)
    family = chain.family.value
    path = _path(args, family)
    with _device(args) as device:
        address = device.get_address(family, path, show=args.show)
        _print({"device": device.name, "chain": chain.key, "family": family, "path": path, "address": address})
    return 0


def cmd_sign_message(args: argparse.Namespace) -> int:
    from rucksack.chains.registry import get_chain
    from rucksack.wallet import messages
    from rucksack.wallet.cli import _print

    chain = get_chain(args.chain)
    family = chain.family.value
    path = _path(args, family)
    with _device(args) as device:
        signer = device.get_address(family, path)
        if args.typed_data:
            if chain.is_svm:
                raise ValueError("--typed-data is EIP-712, for EVM chains")
            typed = json.loads(Path(args.typed_data).read_text(encoding="utf-8"))
            flags = messages.check_typed(chain, typed, allow_flagged=args.allow_flagged)
            sig = device.evm_signer(path).sign_typed_data(typed)
            digest = messages.typed_data_hash(typed)  # what the keystore's sign-message reports too
            signed = messages.SignedMessage(chain.key, signer, "eip712", digest, "0x" + sig.hex(), flags)
        else:
            data = Path(args.message_file).read_bytes() if args.message_file else (args.message or "").encode()
            if chain.is_svm:
                payload = messages.solana_offchain_payload(data)
                sig = device.sign_offchain_message(path, payload)
                from solders.signature import Signature

                text_sig = str(Signature.from_bytes(sig))
                if not messages.verify_solana(signer, payload, text_sig):
                    raise ValueError("the device's signature does not verify")
                signed = messages.SignedMessage(chain.key, signer, "solana-offchain-v0", payload, text_sig)
            else:
                from eth_account import Account

                signable = messages.personal_signable(data)
                sig = device.sign_evm_personal_message(path, data)
                if Account.recover_message(signable, signature=sig) != signer:
                    raise ValueError("the device's signature does not recover to its address")
                prefixed = messages.eip191_bytes(signable)  # what the keystore's sign-message reports too
                signed = messages.SignedMessage(chain.key, signer, "eip191", prefixed, "0x" + sig.hex())
        out = signed.to_json()
        out.update({"device": device.name, "path": path})
        _print(out)
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    """prepare (device signs; simulate) -> show the review -> confirm unless --yes -> submit."""
    from rucksack.chains.registry import get_chain
    from rucksack.wallet.cli import _endpoints, confirm_and_submit
    from rucksack.wallet.hardware.send import prepare_transfer_with_device

    chain = get_chain(args.chain)
    path = _path(args, chain.family.value)
    with _device(args) as device:
        prepared = prepare_transfer_with_device(
            device, _endpoints(args), chain.key, args.asset, args.to, args.amount, path
        )
    return confirm_and_submit(args, prepared)


def add_parser(wsub: Any, common: Any) -> None:
    """Add ``rucksack wallet device ...`` subcommands to ``wsub``."""
    from rucksack.wallet.cli import run, signing_options

    d = wsub.add_parser("device", help="hardware wallets (Ledger, Trezor) and a software device for tests")
    dsub = d.add_subparsers(dest="device_command", required=True)

    def account(p: argparse.ArgumentParser) -> None:
        p.add_argument("--device", required=True, metavar="SPEC", help=SPEC_HELP)
        p.add_argument("--chain", required=True)
        p.add_argument("--path", default=None, help="BIP-32 path, e.g. m/44'/501'/0'/0'")
        p.add_argument("--index", type=int, default=0, help="account index in --scheme (without --path)")
        p.add_argument("--scheme", default="backpack", help="derivation scheme for --index (default backpack)")

    p = dsub.add_parser("list", help="connected Trezors and Ledgers")
    p.set_defaults(func=run, wallet_func=cmd_list)

    p = dsub.add_parser("address", help="the device's address for a chain and path")
    account(p)
    p.add_argument("--show", action="store_true", help="also show it on the device to compare")
    p.set_defaults(func=run, wallet_func=cmd_address)

    p = dsub.add_parser("sign-message", help="domain-separated message signing on the device")
    account(p)
    p.add_argument("--message", default=None)
    p.add_argument("--message-file", default=None)
    p.add_argument("--typed-data", default=None, help="EIP-712 JSON file (EVM chains)")
    p.add_argument("--allow-flagged", action="store_true", help="explicit override: sign a permit/approval")
    p.set_defaults(func=run, wallet_func=cmd_sign_message)

    p = dsub.add_parser("send", help="a reviewed transfer signed on the device")
    common(p, network=True)
    account(p)
    p.add_argument("--asset", required=True, help="native symbol, USDC, or a mint/contract address")
    p.add_argument("--to", required=True)
    p.add_argument("--amount", required=True)
    signing_options(p)
    p.set_defaults(func=run, wallet_func=cmd_send)
