"""Proof of reserves over HTTP (Rucksack extension; docs/reserves.md, docs/api.md).

- ``GET /api/v1/reserves/snapshot`` (public): the newest snapshot the server published under
  ``DATA/reserves/<seq>/`` — ``snapshot.json``, ``reserves.json`` and ``exchange-accounts.json`` as
  written, plus whether a tier (b) ``zk.json`` exists (and then ``zk`` itself). 404 before the first.
- ``GET /api/v1/reserves/proof`` (private, instruction ``reservesProofQuery``; ``subaccountId`` for
  one of the caller's own subaccounts): the caller's own inclusion proof from that snapshot (and its
  zk inclusion proof when tier (b) was built). The account is always the authenticated key's (or its
  own subaccount's): nothing in the request can name another account. 404 when the account is not
  in the snapshot (opened after it).
- ``POST /api/v1/sandbox/reserves/snapshot`` (sandbox, admin token): publish a tier (a) snapshot now.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from rucksack.exchange.api.errors import ApiError
from rucksack.exchange.api.routes.subaccounts import target_account
from rucksack.exchange.reserves_export import EXCHANGE_ACCOUNTS, latest_dir, publish_now
from rucksack.exchange.service import ExchangeService


def _read(path: Path) -> Any:
    return msgspec.json.decode(path.read_bytes())


def _latest(service: ExchangeService) -> Path:
    found = latest_dir(service.data_dir)
    if found is None:
        raise ApiError(404, "RESOURCE_NOT_FOUND", "no reserves snapshot has been published yet")
    return found


async def reserves_snapshot(service: ExchangeService, params: dict[str, str]) -> Any:
    found = _latest(service)
    zk = found / "zk.json"
    extra = found / EXCHANGE_ACCOUNTS
    return {
        "seq": int(found.name),
        "snapshot": _read(found / "snapshot.json"),
        "reserves": _read(found / "reserves.json") if (found / "reserves.json").is_file() else None,
        "exchangeAccounts": _read(extra) if extra.is_file() else None,
        "zk": _read(zk) if zk.is_file() else None,
    }


async def reserves_proof(service: ExchangeService, account: int, params: Any) -> Any:
    target = target_account(service, account, params)
    found = _latest(service)
    proof = found / "proofs" / f"{target}.json"
    if not proof.is_file():
        raise ApiError(
            404, "RESOURCE_NOT_FOUND", f"account {target} is not in the snapshot at seq {found.name} (opened later)"
        )
    zk_proof = found / "zk-proofs" / f"{target}.json"
    return {
        "seq": int(found.name),
        "account": target,
        "proof": _read(proof),
        "zkProof": _read(zk_proof) if zk_proof.is_file() else None,
    }


async def sandbox_reserves_snapshot(service: ExchangeService, body: Any) -> Any:
    return await publish_now(service)
