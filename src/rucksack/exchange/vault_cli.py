"""``rucksack vault``: list vaults, watch one, deposit, withdraw at NAV, lead one (docs/vaults.md).

Every signed call is a Backpack-signed request (instruction, sorted fields, timestamp, window)
with the account's API key (``--api-key``/``--api-secret``, else ``$RUCKSACK_API_KEY`` and
``$RUCKSACK_API_SECRET``); the answer is printed as JSON. A Backpack error prints to stderr and
exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import httpx

from rucksack.endpoints import DEFAULT_EXCHANGE, EXCHANGE_HELP

# what -> (method, path, instruction or None for public)
CALLS: dict[str, tuple[str, str, str | None]] = {
    "list": ("GET", "/api/v1/vaults", None),
    "history": ("GET", "/api/v1/vaults/history", None),
    "create": ("POST", "/api/v1/vault", "vaultCreate"),
    "deposit": ("POST", "/api/v1/vault/mint", "vaultMint"),
    "withdraw": ("POST", "/api/v1/vault/redeem", "vaultRedeemRequest"),
    "cancel": ("DELETE", "/api/v1/vault/redeem", "vaultRedeemCancel"),
    "position": ("GET", "/api/v1/vault/positions", "vaultPositionQuery"),
    "nav": ("GET", "/api/v1/vault/nav", "vaultNavQuery"),
    "pending": ("GET", "/api/v1/vault/redeems/pending", "vaultPendingRedeemsQuery"),
}


def _body(args: argparse.Namespace) -> dict[str, Any]:
    fields = {
        "vaultId": getattr(args, "vault", None),
        "interval": getattr(args, "interval", None),
        "name": getattr(args, "name", None),
        "quantity": getattr(args, "quantity", None),
        "symbol": getattr(args, "symbol", None),
        "vaultTokenQuantity": getattr(args, "tokens", None),
        "managementFee": getattr(args, "management_fee", None),
        "performanceFee": getattr(args, "performance_fee", None),
        "leaderMinShare": getattr(args, "leader_min_share", None),
        "lockupMs": getattr(args, "lockup_ms", None),
        "redeemDelayMs": getattr(args, "redeem_delay_ms", None),
        "depositCap": getattr(args, "deposit_cap", None),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _render(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def cmd_vault(args: argparse.Namespace) -> int:
    from rucksack.exchange.api.auth import sign

    method, path, instruction = CALLS[args.what]
    body = _body(args)
    headers: dict[str, str] = {"Content-Type": "application/json"}
    if instruction is not None:
        key = args.api_key or os.environ.get("RUCKSACK_API_KEY")
        secret = args.api_secret or os.environ.get("RUCKSACK_API_SECRET")
        if not key or not secret:
            raise SystemExit("rucksack vault: --api-key and --api-secret (or $RUCKSACK_API_KEY/_SECRET) are needed")
        ts, window = int(time.time() * 1000), 5000
        fields = "".join(f"&{k}={_render(v)}" for k, v in sorted(body.items()))
        message = f"instruction={instruction}{fields}&timestamp={ts}&window={window}".encode()
        headers.update(
            {"X-API-Key": key, "X-Signature": sign(secret, message), "X-Timestamp": str(ts), "X-Window": str(window)}
        )
    url = args.url.rstrip("/") + path
    try:
        if method == "GET":
            response = httpx.get(url, params=body, headers=headers, timeout=60)
        else:
            response = httpx.request(method, url, content=json.dumps(body), headers=headers, timeout=60)
    except httpx.HTTPError as err:
        raise SystemExit(f"rucksack vault: cannot reach {args.url}: {err}") from err
    if response.status_code != 200:
        sys.stderr.write(f"rucksack vault: {response.status_code} {response.text}\n")
        return 1
    print(json.dumps(response.json(), indent=2))
    return 0


def add_parser(sub: Any) -> None:
    vault = sub.add_parser("vault", help="vaults: list, history, deposit, withdraw at NAV, lead one")
    vsub = vault.add_subparsers(dest="what", required=True)
    helps = {
        "list": "every vault with its NAV per token, performance and drawdown",
        "history": "a vault's NAV samples",
        "create": "open a vault you lead, with your first deposit",
        "deposit": "deposit into a vault for vault tokens at NAV",
        "withdraw": "redeem vault tokens at NAV (all of them without --tokens)",
        "cancel": "cancel your pending redemption",
        "position": "your vault tokens, their value and fees, in every vault",
        "nav": "a vault's NAV (its leader)",
        "pending": "a vault's redemption queue (its leader)",
    }
    for what, text in helps.items():
        p = vsub.add_parser(what, help=text)
        p.add_argument("--url", default=DEFAULT_EXCHANGE, help=EXCHANGE_HELP)
        p.add_argument("--api-key", default=None, help="signed calls: your API key (else $RUCKSACK_API_KEY)")
        p.add_argument("--api-secret", default=None, help="signed calls: its secret (else $RUCKSACK_API_SECRET)")
        if what in ("history", "deposit", "withdraw", "cancel", "nav", "pending"):
            p.add_argument("--vault", type=int, required=True)
        if what == "history":
            p.add_argument("--interval", choices=("1d", "1w", "1month", "1year"), default=None)
        if what in ("create", "deposit"):
            p.add_argument("--quantity", required=True, help="amount of the asset (create: of USDC)")
        if what == "deposit":
            p.add_argument("--symbol", default="USDC")
        if what == "withdraw":
            p.add_argument("--tokens", default=None, help="vault tokens to redeem (default: all)")
        if what == "create":
            p.add_argument("--name", required=True)
            p.add_argument("--management-fee", default=None, help='per year, a fraction ("0.02")')
            p.add_argument("--performance-fee", default=None, help='of gains above the high-water mark ("0.1")')
            p.add_argument("--leader-min-share", default=None, help='you keep at least this share ("0.05")')
            p.add_argument("--lockup-ms", type=int, default=None)
            p.add_argument("--redeem-delay-ms", type=int, default=None)
            p.add_argument("--deposit-cap", default=None)
        p.set_defaults(func=cmd_vault)
