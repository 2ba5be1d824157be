"""``rucksack wallet exchange-key|exchange-signup|exchange-balance|deposit|trade|withdraw|reserves|
exchange-nft-vip``:
the wallet's link to a Backpack-API exchange, over HTTP only (``wallet/exchange_link.py``).

Same conventions as ``wallet/cli.py``: one JSON object on stdout, the review and errors on stderr;
deposits go through the same reviewed send as ``wallet send``; requests are signed with the
exchange key derived from the seed (or an imported one).
"""

from __future__ import annotations

import argparse
from typing import Any

from rucksack.endpoints import DEFAULT_EXCHANGE, EXCHANGE_HELP
from rucksack.wallet.cli import _open, _print, _read_line, _reviewed_send, _say, run, signing_options


def _exchange(args: argparse.Namespace, wallet: Any) -> Any:
    from rucksack.wallet.exchange_link import ExchangeClient, signing_key

    key, _ = signing_key(wallet)
    return ExchangeClient(args.exchange, key)


def cmd_exchange_key(args: argparse.Namespace) -> int:
    from rucksack.wallet.exchange_link import import_key, public_key, signing_key

    wallet = _open(args)
    if args.import_file:
        import_key(wallet, _read_line(args.import_file))
    key, source = signing_key(wallet)
    _print({"publicKey": public_key(key), "source": source})
    return 0


def cmd_exchange_signup(args: argparse.Namespace) -> int:
    from rucksack.wallet.exchange_link import public_key

    wallet = _open(args)
    client = _exchange(args, wallet)
    got = client.sandbox_signup(args.label)
    _say(f"Registered exchange API key {public_key(client.key)} as account {got['accountId']} (sandbox)")
    _print({"accountId": got["accountId"], "publicKey": got["apiKey"]})
    return 0


def cmd_deposit(args: argparse.Namespace) -> int:
    from rucksack.chains.registry import get_chain

    chain = get_chain(args.chain)
    wallet = _open(args)
    address = _exchange(args, wallet).deposit_address(chain.name)
    _say(f"Exchange deposit address on {chain.name}: {address}")
    return _reviewed_send(args, wallet, address, {"depositAddress": address})


def cmd_withdraw(args: argparse.Namespace) -> int:
    from rucksack.chains.registry import get_chain

    chain = get_chain(args.chain)
    wallet = _open(args)
    to = args.to or wallet.account(chain.family.value, args.account).address
    symbol = chain.native_symbol if args.asset.lower() == "native" else args.asset.upper()
    got = _exchange(args, wallet).withdraw(to, chain.name, args.amount, symbol)
    _say(f"Withdrawal {got['id']} requested: {got['quantity']} {symbol} on {chain.name} to {to} ({got['status']})")
    _print({"withdrawal": got})
    return 0


def cmd_exchange_nft_vip(args: argparse.Namespace) -> int:
    """Prove to the exchange that this wallet's EVM address holds token ``--token-id`` of the
    exchange's designated collection: fetch its challenge, sign it (EIP-191, the wallet's own
    message signing) with that address's key, send the signature. The exchange checks the chain."""
    from rucksack.chains.registry import get_chain
    from rucksack.wallet import messages

    chain = get_chain(args.chain)
    if not chain.is_evm:
        raise SystemExit("rucksack wallet: the NFT VIP perk is proved with an EVM address (--chain ethereum, ...)")
    wallet = _open(args)
    account = wallet.account("evm", args.account)
    client = _exchange(args, wallet)
    challenge = client.nft_vip_challenge(account.address)
    _say(f"Signing the exchange's challenge for {challenge['collection']} with {account.address}")
    signed = messages.sign_personal(chain, wallet.signer(account), challenge["message"].encode())
    got = client.nft_vip_prove(account.address, args.token_id, challenge["message"], signed.signature)
    _say(f"NFT VIP level {got['nftVipLevel']} granted to account {got['accountId']}: fee tier {got['feeTier']}")
    _print(got)
    return 0


def cmd_exchange_balance(args: argparse.Namespace) -> int:
    _print({"balances": _exchange(args, _open(args)).balances()})
    return 0


def order_body(args: argparse.Namespace) -> dict[str, Any]:
    """The CLI's trade flags as Backpack's order body: a price makes a limit order, none a market one."""
    if args.quantity is None and args.quote_quantity is None:
        raise ValueError("give --quantity (base asset) or --quote-quantity (market orders only)")
    if args.price is None and (args.post_only or args.time_in_force):
        raise ValueError("--post-only and --time-in-force apply to limit orders (give --price)")
    body: dict[str, Any] = {
        "symbol": args.symbol,
        "side": {"buy": "Bid", "sell": "Ask"}[args.side],
        "orderType": "Limit" if args.price is not None else "Market",
        "quantity": args.quantity,
        "price": args.price,
        "quoteQuantity": args.quote_quantity,
        "timeInForce": args.time_in_force,
        "postOnly": True if args.post_only else None,
        "reduceOnly": True if args.reduce_only else None,
    }
    return {k: v for k, v in body.items() if v is not None}


def cmd_trade(args: argparse.Namespace) -> int:
    body = order_body(args)
    got = _exchange(args, _open(args)).place_order(body)
    _say(
        f"Order {got['id']}: {body['orderType']} {args.side} {got.get('quantity') or body.get('quoteQuantity')} "
        f"{args.symbol} -> {got['status']} (filled {got.get('executedQuantity', '0')})"
    )
    if body["orderType"] == "Market" and got["status"] == "Expired":
        _say(
            "The book could not fill all of it within the market's price-impact band "
            "(5% past the best price by default); the rest expired and its funds are free again."
        )
    _print({"order": got})
    return 0


def cmd_reserves(args: argparse.Namespace) -> int:
    from rucksack.wallet.exchange_link import verify_reserves

    wallet = _open(args)
    result = verify_reserves(_exchange(args, wallet), args.public_key)
    report = result["report"]
    _say(result["text"].rstrip())
    if report.get("pending"):  # opened after the newest snapshot: nothing to verify yet
        _print(report)
        return 0
    _say(f"Your balances are {'INCLUDED' if report['included'] else 'NOT shown to be included'} in the snapshot;")
    solvent = {True: "covered", False: "NOT covered (see the failed checks)", None: "not stated"}[report["solvent"]]
    _say(f"the exchange's reserves statement: liabilities {solvent}.")
    zk = {
        True: "your batch's zero-knowledge proof (every account in it covered, sums exact) VERIFIED.",
        False: "your batch's zero-knowledge proof did NOT verify (see the failed zk checks).",
        None: "no zero-knowledge tier in this snapshot.",
    }[report["zk_verified"]]
    _say(f"Tier (b): {zk}")
    _print(report)
    return 0 if result["ok"] else 1


def cmd_verify_fills(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from rucksack.wallet.exchange_link import verify_fills

    wallet = _open(args)
    kept = json.loads(Path(args.fills).read_text(encoding="utf-8")) if args.fills else None
    report = verify_fills(_exchange(args, wallet), args.public_key, kept)
    _say(
        f"chain: {report['records']} signed records, "
        + ("all links and signatures hold" if not report["chainProblems"] else "BROKEN")
        + ("" if report["keyPinned"] else " (key not pinned: pass --public-key)")
    )
    _say(
        f"your records: {report['provenOrders']} orders and {report['provenFills']} fills proven; "
        f"{report['fillsChecked']} fills match them, {len(report['pending'])} not checkpointed yet"
    )
    for problem in report["chainProblems"] + report["problems"]:
        _say(f"FAIL {problem}")
    if args.save:
        Path(args.save).write_text(json.dumps(_exchange(args, wallet).fills()), encoding="utf-8")
    _print(report)
    return 0 if report["ok"] else 1


def add_parser(wsub: Any, common: Any) -> None:
    def exchange(p: argparse.ArgumentParser) -> None:
        p.add_argument("--exchange", default=DEFAULT_EXCHANGE, metavar="URL", help=EXCHANGE_HELP)

    p = wsub.add_parser("exchange-key", help="the exchange API key (derived from the seed, or --import-file)")
    common(p)
    p.add_argument("--import-file", default=None, help="store this base64 ED25519 secret instead (encrypted)")
    p.set_defaults(func=run, wallet_func=cmd_exchange_key)

    p = wsub.add_parser("exchange-signup", help="register the exchange key as a new sandbox account")
    common(p)
    exchange(p)
    p.add_argument("--label", default="wallet")
    p.set_defaults(func=run, wallet_func=cmd_exchange_signup)

    p = wsub.add_parser("deposit", help="send to your exchange deposit address (reviewed like any send)")
    common(p, network=True)
    exchange(p)
    p.add_argument("--chain", required=True)
    p.add_argument("--asset", required=True, help="native symbol or USDC")
    p.add_argument("--amount", required=True)
    p.add_argument("--account", type=int, default=0)
    signing_options(p)
    p.set_defaults(func=run, wallet_func=cmd_deposit)

    p = wsub.add_parser("withdraw", help="request an exchange withdrawal to this wallet's own address")
    common(p)
    exchange(p)
    p.add_argument("--chain", required=True)
    p.add_argument("--asset", required=True, help="exchange symbol (SOL, ETH, USDC) or native")
    p.add_argument("--amount", required=True)
    p.add_argument("--account", type=int, default=0, help="which of the wallet's accounts receives it")
    p.add_argument("--to", default=None, help="another address instead of the wallet's own")
    p.set_defaults(func=run, wallet_func=cmd_withdraw)

    p = wsub.add_parser("exchange-nft-vip", help="prove this wallet holds the exchange's VIP NFT (signed challenge)")
    common(p)
    exchange(p)
    p.add_argument("--chain", default="ethereum", help="the EVM chain of the collection (default ethereum)")
    p.add_argument("--token-id", type=int, required=True, help="the token this wallet's address holds")
    p.add_argument("--account", type=int, default=0, help="which of the wallet's EVM accounts holds it")
    p.set_defaults(func=run, wallet_func=cmd_exchange_nft_vip)

    p = wsub.add_parser("exchange-balance", help="your balances on the exchange (signed balanceQuery)")
    common(p)
    exchange(p)
    p.set_defaults(func=run, wallet_func=cmd_exchange_balance)

    p = wsub.add_parser("trade", help="place an order on the exchange: limit with --price, else market")
    common(p)
    exchange(p)
    p.add_argument("--symbol", required=True, help="market, e.g. SOL_USDC or SOL_USDC_PERP")
    p.add_argument("--side", required=True, choices=["buy", "sell"])
    p.add_argument("--quantity", default=None, help="base-asset quantity (decimal)")
    p.add_argument("--quote-quantity", default=None, help="quote amount to spend (market orders)")
    p.add_argument("--price", default=None, help="limit price; without it the order is a market order")
    p.add_argument("--time-in-force", default=None, choices=["GTC", "IOC", "FOK"])
    p.add_argument("--post-only", action="store_true")
    p.add_argument("--reduce-only", action="store_true")
    p.set_defaults(func=run, wallet_func=cmd_trade)

    p = wsub.add_parser("verify-fills", help="check your orders and fills against the exchange's signed chain")
    common(p)
    exchange(p)
    p.add_argument("--public-key", default=None, help="the exchange's key (hex), obtained independently")
    p.add_argument("--fills", default=None, metavar="FILE", help="fills you kept (JSON list, e.g. from --save)")
    p.add_argument("--save", default=None, metavar="FILE", help="keep the fills served now, for the next check")
    p.set_defaults(func=run, wallet_func=cmd_verify_fills)

    p = wsub.add_parser("reserves", help="fetch the reserves snapshot and your own proof; verify them")
    common(p)
    exchange(p)
    p.add_argument("--public-key", default=None, help="the exchange's snapshot key (hex), obtained independently")
    p.set_defaults(func=run, wallet_func=cmd_reserves)
