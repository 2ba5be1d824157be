"""``rucksack wallet create|import|addresses|balance|send|faucet|sign-message|export|backup|restore``;
the shared plumbing (output, passwords, keystore, endpoints, the reviewed send, error -> exit code)
for the subcommands kept in their own modules: the exchange link (``exchange_cli``), ``multisig``
and ``safe`` (``multisig/``), ``device`` (``hardware/``).

- Results go to stdout as one JSON object; progress, the pre-sign review and errors to stderr.
- Passwords come from ``getpass`` (hidden) or ``--password-file`` (first line; for scripts and tests).
- Secrets are never printed or logged: a mnemonic, a private key or SLIP-39 shares are only ever
  written to files the user names (created 0600, atomically), or read from them / a hidden prompt.
- Every ``send`` prints the simulated balance changes and asks for confirmation unless ``--yes``;
  flagged transactions need ``--allow-flagged`` on top; a failing simulation is never sent.
- Chains are reached through ``--devnet URL`` (default http://127.0.0.1:8899, then /<chain>) or
  ``--rpc CHAIN=URL`` per chain.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rucksack.endpoints import DEFAULT_DEVNET, DEVNET_HELP

DEFAULT_KEYSTORE = "~/.rucksack/wallet.json"
EXIT_ERROR = 2
EXIT_REFUSED = 3


def _print(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _read_line(path: str) -> str:
    return (
        Path(path).expanduser().read_text(encoding="utf-8").splitlines()[0]
        if Path(path).expanduser().stat().st_size
        else ""
    )


def _password(args: argparse.Namespace, *, confirm: bool = False, prompt: str = "Keystore password: ") -> str:
    if getattr(args, "password_file", None):
        return _read_line(args.password_file)
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat password: ") != first:
        raise SystemExit("rucksack wallet: passwords differ")
    return first


def _keystore_path(args: argparse.Namespace) -> Path:
    return Path(args.keystore).expanduser()


def _open(args: argparse.Namespace, *, unlock: bool = True) -> Any:
    from rucksack.wallet.keystore import Wallet

    wallet = Wallet(_keystore_path(args))
    if unlock:
        wallet.unlock(_password(args))
    return wallet


def _endpoints(args: argparse.Namespace) -> Any:
    from rucksack.wallet.rpc import Endpoints

    return Endpoints.parse(args.devnet, args.rpc)


def _profile(args: argparse.Namespace) -> Any:
    from rucksack.wallet.keystore import PROFILES

    return PROFILES[args.kdf]


def _created(wallet: Any) -> dict[str, Any]:
    return {"keystore": str(wallet.path), "kind": wallet.kind, "accounts": [a.to_json() for a in wallet.accounts]}


# -- commands -----------------------------------------------------------------------------------


def cmd_create(args: argparse.Namespace) -> int:
    from rucksack.wallet.keys import default_accounts, generate_mnemonic
    from rucksack.wallet.keystore import Wallet

    secret = generate_mnemonic(args.words)
    password = _password(args, confirm=True)
    wallet = Wallet.create(
        _keystore_path(args),
        secret,
        password,
        default_accounts(secret, args.accounts, args.evm_scheme),
        profile=_profile(args),
    )
    _say("Wallet created. The mnemonic is only inside the keystore: back it up now with")
    _say("  rucksack wallet backup --out DIR   (SLIP-39 2-of-3)  or  rucksack wallet export --mnemonic --out FILE")
    _print(_created(wallet))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from rucksack.wallet.keys import Secret, default_accounts
    from rucksack.wallet.keystore import Wallet

    if args.private_key_file:
        secret = Secret.from_private_key(args.family, _read_line(args.private_key_file))
    else:
        phrase = _read_line(args.mnemonic_file) if args.mnemonic_file else getpass.getpass("Mnemonic (hidden): ")
        passphrase = _read_line(args.passphrase_file) if args.passphrase_file else ""
        secret = Secret.from_mnemonic(phrase, passphrase)
    accounts = default_accounts(secret, args.accounts, args.evm_scheme)
    found: list[Any] = []
    if args.scan and secret.kind == "mnemonic":
        from rucksack.wallet.recovery import scan

        chains = [c.strip() for c in args.chains.split(",") if c.strip()]
        found = scan(secret, _endpoints(args), chains, args.scan_count)
        known = {a.address for a in accounts}
        accounts += [f.ref for f in found if f.ref.address not in known]
    password = _password(args, confirm=True)
    wallet = Wallet.create(_keystore_path(args), secret, password, accounts, profile=_profile(args))
    out = _created(wallet)
    if args.scan:
        out["scan"] = [{"account": f.ref.to_json(), "evidence": f.evidence} for f in found]
    _print(out)
    return 0


def cmd_addresses(args: argparse.Namespace) -> int:
    from rucksack.wallet.keys import account_ref

    if args.add:
        wallet = _open(args)
        family, _, rest = args.add.partition(":")
        scheme, _, index = rest.partition(":")
        ref = account_ref(wallet.secret(), family, scheme or "backpack", int(index or 0))
        if ref.address not in {a.address for a in wallet.accounts}:
            wallet.set_accounts([*wallet.accounts, ref])
    else:
        wallet = _open(args, unlock=False)
    _print(_created(wallet))
    return 0


def cmd_balance(args: argparse.Namespace) -> int:
    from rucksack.chains.registry import CHAINS, get_chain
    from rucksack.wallet import evm, svm

    wallet = _open(args, unlock=False)
    endpoints = _endpoints(args)
    chains = [get_chain(c.strip()) for c in args.chain.split(",")] if args.chain else list(CHAINS)
    out: dict[str, Any] = {}
    for chain in chains:
        family = chain.family.value
        if not any(a.family == family for a in wallet.accounts):
            continue
        address = wallet.account(family, args.account).address
        rpc = endpoints.rpc(chain.key)
        rows = svm.balances(rpc, chain, address) if chain.is_svm else evm.balances(rpc, chain, address)
        out[chain.key] = {"address": address, "balances": rows}
    _print(out)
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    wallet = _open(args)
    return _reviewed_send(args, wallet, args.to)


def _reviewed_send(args: argparse.Namespace, wallet: Any, to: str, extra: dict[str, Any] | None = None) -> int:
    """prepare (sign + simulate) -> show the review -> confirm unless --yes -> submit."""
    from rucksack.wallet.send import prepare_transfer

    prepared = prepare_transfer(wallet, _endpoints(args), args.chain, args.asset, to, args.amount, args.account)
    return confirm_and_submit(args, prepared, extra)


def confirm(args: argparse.Namespace, question: str) -> bool:
    """True with ``--yes``; else ask on stderr and read y/N from stdin (anything but y/yes is no)."""
    if getattr(args, "yes", False):
        return True
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def signing_options(p: argparse.ArgumentParser) -> None:
    """``--yes`` and ``--allow-flagged``, for every command that signs and sends."""
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation after the review")
    p.add_argument("--allow-flagged", action="store_true", help="explicit override: sign despite warnings")


def review_gate(args: argparse.Namespace, text: str, ok: bool, unsent: dict[str, Any]) -> int | None:
    """Show a review; on a failed simulation (exit 3) or a declined prompt (exit 1) print ``unsent``
    marked ``sent: false`` and return the exit code; None means go on and submit."""
    _say(text)
    if not ok:
        _print({**unsent, "sent": False})
        return EXIT_REFUSED
    if not confirm(args, "Sign and send?"):
        _print({**unsent, "sent": False})
        return 1
    return None


def confirm_and_submit(
    args: argparse.Namespace,
    prepared: Any,
    extra: dict[str, Any] | None = None,
    submit: Callable[..., dict[str, Any]] | None = None,
) -> int:
    """Show a prepared (signed, simulated) transaction's review; refuse a failed simulation; ask
    unless ``--yes``; submit (flags need ``--allow-flagged``). Shared by keystore, device and
    multisig sends; ``submit(prepared, allow_flagged=...)`` replaces ``prepared.submit``."""
    extra = extra or {}
    review = prepared.review
    stopped = review_gate(args, review.text(), review.ok, {**extra, "review": review.to_json()})
    if stopped is not None:
        return stopped
    if submit is None:
        result = prepared.submit(allow_flagged=args.allow_flagged)
    else:
        result = submit(prepared, allow_flagged=args.allow_flagged)
    _print({**extra, "sent": True, **result, "review": review.to_json()})
    return 0


def cmd_faucet(args: argparse.Namespace) -> int:
    from rucksack.chains.registry import get_chain
    from rucksack.wallet.faucet import fund

    chain = get_chain(args.chain)
    to = args.to or _open(args, unlock=False).account(chain.family.value, args.account).address
    got = fund(_endpoints(args), chain.key, args.asset, to, args.amount)
    _say(f"Devnet faucet sent {args.amount} {args.asset} on {chain.key} to {to}")
    _print(got)
    return 0


def cmd_faucet_nft(args: argparse.Namespace) -> int:
    from rucksack.chains.registry import get_chain
    from rucksack.wallet.faucet import fund_nft

    chain = get_chain(args.chain)
    to = args.to or _open(args, unlock=False).account(chain.family.value, args.account).address
    got = fund_nft(_endpoints(args), chain.key, to)
    _say(f"Devnet faucet sent token {got['tokenId']} of the NFT collection {got['collection']} to {to}")
    _print(got)
    return 0


def cmd_sign_message(args: argparse.Namespace) -> int:
    from rucksack.chains.registry import get_chain
    from rucksack.wallet import messages

    chain = get_chain(args.chain)
    wallet = _open(args)
    signer = wallet.signer(wallet.account(chain.family.value, args.account))
    if args.typed_data:
        if chain.is_svm:
            raise SystemExit("rucksack wallet: --typed-data is EIP-712, for EVM chains")
        typed = json.loads(Path(args.typed_data).read_text(encoding="utf-8"))
        signed = messages.sign_typed(chain, signer, typed, allow_flagged=args.allow_flagged)
    else:
        data = Path(args.message_file).read_bytes() if args.message_file else (args.message or "").encode()
        signed = (
            messages.sign_solana(chain, signer, data) if chain.is_svm else messages.sign_personal(chain, signer, data)
        )
    _print(signed.to_json())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from rucksack.wallet.keystore import atomic_write

    wallet = _open(args)
    out = Path(args.out).expanduser()
    if args.mnemonic:
        secret = wallet.secret()
        if secret.kind != "mnemonic":
            raise SystemExit("rucksack wallet: this wallet holds an imported key, not a mnemonic")
        atomic_write(out, (secret.mnemonic + "\n").encode(), overwrite=False)
        _print({"exported": "mnemonic", "file": str(out)})
        return 0
    ref = wallet.account("evm", args.account)
    if args.export_password_file:
        export_pw = _read_line(args.export_password_file)
    else:
        export_pw = _password(argparse.Namespace(), confirm=True, prompt="Password for the v3 file: ")
    v3 = wallet.export_evm_v3(ref, export_pw, scrypt_n=args.scrypt_n)
    atomic_write(out, (json.dumps(v3) + "\n").encode(), overwrite=False)
    _print({"exported": "ethereum-keystore-v3", "address": ref.address, "file": str(out)})
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from rucksack.wallet import backup
    from rucksack.wallet.keystore import atomic_write

    wallet = _open(args)
    shares = backup.split(wallet.secret(), args.threshold, args.shares)
    out = Path(args.out).expanduser()
    files = []
    for n, share in enumerate(shares, 1):
        path = out / f"share-{n}-of-{len(shares)}.txt"
        atomic_write(path, (share + "\n").encode(), overwrite=False)
        files.append(str(path))
    _say(f"Wrote {len(shares)} SLIP-39 shares; any {args.threshold} restore the wallet. Keep them apart.")
    _print({"threshold": args.threshold, "shares": files})
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from rucksack.wallet import backup
    from rucksack.wallet.keys import default_accounts
    from rucksack.wallet.keystore import Wallet

    shares = [_read_line(p) for p in args.share_file]
    passphrase = _read_line(args.passphrase_file) if args.passphrase_file else ""
    secret = backup.combine(shares, passphrase)
    password = _password(args, confirm=True)
    accounts = default_accounts(secret, args.accounts, args.evm_scheme)
    wallet = Wallet.create(_keystore_path(args), secret, password, accounts, profile=_profile(args))
    _print(_created(wallet))
    return 0


# -- parser -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from rucksack.wallet.exchange_link import ExchangeError
    from rucksack.wallet.hardware.base import DeviceError
    from rucksack.wallet.keys import WalletKeyError
    from rucksack.wallet.keystore import KeystoreError
    from rucksack.wallet.messages import MessageRefused
    from rucksack.wallet.review import Refused
    from rucksack.wallet.rpc import RpcError
    from rucksack.wallet.signers import SignerRefused

    try:
        return int(args.wallet_func(args))
    except Refused as exc:
        _say(f"rucksack wallet: {exc}")
        _print({"sent": False, "refused": str(exc), "review": exc.review.to_json()})
        return EXIT_REFUSED
    except (MessageRefused, SignerRefused) as exc:
        _say(f"rucksack wallet: {exc}")
        return EXIT_REFUSED
    except ExchangeError as exc:
        _say(f"rucksack wallet: {exc}")
        return EXIT_ERROR
    except (
        KeystoreError,
        WalletKeyError,
        DeviceError,
        RpcError,
        ValueError,
        KeyError,
        FileExistsError,
        OSError,
    ) as exc:
        _say(f"rucksack wallet: {exc}")
        return EXIT_ERROR


def add_parser(sub: Any) -> None:
    w = sub.add_parser("wallet", help="self-custodial wallet: keys, keystore, balances, sends, messages")
    wsub = w.add_subparsers(dest="wallet_command", required=True)

    def common(p: argparse.ArgumentParser, *, network: bool = False) -> None:
        p.add_argument("--keystore", default=DEFAULT_KEYSTORE, help=f"keystore file (default {DEFAULT_KEYSTORE})")
        p.add_argument("--password-file", default=None, help="read the password from this file (scripts, tests)")
        if network:
            p.add_argument("--devnet", default=DEFAULT_DEVNET, help=DEVNET_HELP)
            p.add_argument("--rpc", action="append", default=[], metavar="CHAIN=URL", help="a chain's own RPC URL")

    def new_keys(p: argparse.ArgumentParser) -> None:
        p.add_argument("--accounts", type=int, default=1, help="accounts per family to record")
        p.add_argument("--evm-scheme", default="backpack", choices=["backpack", "metamask"])
        p.add_argument("--kdf", default="moderate", choices=["moderate", "interactive", "test"])

    p = wsub.add_parser("create", help="new BIP-39 mnemonic in a new keystore (prints addresses only)")
    common(p)
    new_keys(p)
    p.add_argument("--words", type=int, default=12, choices=[12, 24])
    p.set_defaults(func=run, wallet_func=cmd_create)

    p = wsub.add_parser("import", help="keystore from an existing mnemonic or private key")
    common(p, network=True)
    new_keys(p)
    p.add_argument("--mnemonic-file", default=None, help="read the words from a file (else a hidden prompt)")
    p.add_argument("--passphrase-file", default=None, help="BIP-39 passphrase (25th word) from a file")
    p.add_argument("--private-key-file", default=None, help="one raw key (SVM: base58/hex/JSON array; EVM: hex)")
    p.add_argument("--family", default="svm", choices=["svm", "evm"], help="with --private-key-file")
    p.add_argument("--scan", action="store_true", help="recovery scan of legacy paths for balances/history")
    p.add_argument("--chains", default="solana,ethereum", help="with --scan: chains to look at")
    p.add_argument("--scan-count", type=int, default=20, help="with --scan: indices per path")
    p.set_defaults(func=run, wallet_func=cmd_import)

    p = wsub.add_parser("addresses", help="recorded accounts; --add FAMILY:SCHEME:INDEX records one more")
    common(p)
    p.add_argument("--add", default=None, metavar="FAMILY:SCHEME:INDEX")
    p.set_defaults(func=run, wallet_func=cmd_addresses)

    p = wsub.add_parser("balance", help="native and token balances (no password needed)")
    common(p, network=True)
    p.add_argument("--chain", default=None, help="comma-separated chain keys (default: all seven)")
    p.add_argument("--account", type=int, default=0)
    p.set_defaults(func=run, wallet_func=cmd_balance)

    p = wsub.add_parser("send", help="simulate, show balance changes, confirm, sign and send")
    common(p, network=True)
    p.add_argument("--chain", required=True)
    p.add_argument("--asset", required=True, help="native symbol, USDC, or a mint/contract address")
    p.add_argument("--to", required=True)
    p.add_argument("--amount", required=True, help="decimal amount in whole coins/tokens")
    p.add_argument("--account", type=int, default=0)
    signing_options(p)
    p.set_defaults(func=run, wallet_func=cmd_send)

    p = wsub.add_parser("sign-message", help="domain-separated message signing (never transactions)")
    common(p)
    p.add_argument("--chain", required=True)
    p.add_argument("--message", default=None)
    p.add_argument("--message-file", default=None)
    p.add_argument("--typed-data", default=None, help="EIP-712 JSON file (EVM chains)")
    p.add_argument("--account", type=int, default=0)
    p.add_argument("--allow-flagged", action="store_true", help="explicit override: sign a permit/approval")
    p.set_defaults(func=run, wallet_func=cmd_sign_message)

    p = wsub.add_parser("export", help="write an EVM account as Ethereum keystore v3, or the mnemonic, to a file")
    common(p)
    p.add_argument("--out", required=True, help="new file (0600; never overwritten)")
    p.add_argument("--mnemonic", action="store_true", help="export the mnemonic instead of a v3 file")
    p.add_argument("--account", type=int, default=0)
    p.add_argument("--export-password-file", default=None, help="password for the v3 file")
    p.add_argument("--scrypt-n", type=int, default=None, help="scrypt cost (default eth-account's 2**18)")
    p.set_defaults(func=run, wallet_func=cmd_export)

    p = wsub.add_parser("backup", help="SLIP-39 shares of the mnemonic, one file each")
    common(p)
    p.add_argument("--out", required=True, help="directory for share-N-of-M.txt")
    p.add_argument("--threshold", type=int, default=2)
    p.add_argument("--shares", type=int, default=3)
    p.set_defaults(func=run, wallet_func=cmd_backup)

    p = wsub.add_parser("restore", help="new keystore from SLIP-39 share files")
    common(p)
    new_keys(p)
    p.add_argument("--share-file", action="append", required=True)
    p.add_argument("--passphrase-file", default=None)
    p.set_defaults(func=run, wallet_func=cmd_restore)

    p = wsub.add_parser("faucet", help="devnet only: fund this wallet (or --to) from the devnet faucet")
    common(p, network=True)
    p.add_argument("--chain", required=True)
    p.add_argument("--asset", required=True, help="native symbol or native, USDC, or a token address")
    p.add_argument("--amount", required=True)
    p.add_argument("--account", type=int, default=0)
    p.add_argument("--to", default=None, help="another address (default: this wallet's account)")
    p.set_defaults(func=run, wallet_func=cmd_faucet)

    p = wsub.add_parser("faucet-nft", help="devnet only: a token of the devnet's NFT collection (the VIP perk)")
    common(p, network=True)
    p.add_argument("--chain", default="ethereum", help="an EVM devnet chain (default ethereum)")
    p.add_argument("--account", type=int, default=0)
    p.add_argument("--to", default=None, help="another address (default: this wallet's EVM account)")
    p.set_defaults(func=run, wallet_func=cmd_faucet_nft)

    from rucksack.wallet import exchange_cli

    exchange_cli.add_parser(wsub, common)

    # multisig (SPL Token on Solana/Eclipse, Safe on EVM) and hardware devices, each in its own module
    from rucksack.wallet.hardware import cli as device_cli
    from rucksack.wallet.multisig import safe_cli, spl_cli

    spl_cli.add_parser(wsub, common)
    safe_cli.add_parser(wsub, common)
    device_cli.add_parser(wsub, common)
