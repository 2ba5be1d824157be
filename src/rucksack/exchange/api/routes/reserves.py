"""Proof of reserves over HTTP (Rucksack extension; docs/reserves.md, docs/api.md).

- ``GET /api/v1/reserves/snapshot`` (public): the newest snapshot the server published under
  ``DATA/reserves/<seq>/`` — ``snapshot.json``, ``reserves.json`` and ``exchange-accounts.json`` as
  written, plus whether a tier (b) ``zk.json`` exists (and then ``zk`` itself). 404 before the first.
- ``GET /api/v1/reserves/proof`` (private, instruction ``reservesProofQuery``; ``subaccountId`` for
  one of the caller's own subaccounts): the caller's own inclusion proof from that snapshot (and its
  zk inclusion proof when tier (b) was built). The account is always the authenticated key's (or its
  own subaccount's): nothing in the request can name another account. An account opened after the
  snapshot gets ``proof: null``, ``included: false`` and when the next snapshot is due
  (``nextSnapshotAt``, ms) with a sentence saying so -- it is not an error.
- ``GET /api/v1/chain`` (public) and ``GET /api/v1/chain/proofs`` (private, instruction
  ``chainProofQuery``): the public chain of commitments and the caller's own inclusion proofs
  (exchange.checkpoints, docs/reserves.md).
- ``POST /api/v1/sandbox/reserves/snapshot`` (sandbox, admin token): publish a tier (a) snapshot now;
  with ``{"zk": true}`` also prove its tier (b) in the background (``zkStatus``: ``proving`` until
  ``zk.json`` is served, then ``done``; reserves_export.start_zk). The operator route takes the same.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from rucksack.exchange.api.errors import ApiError
from rucksack.exchange.api.routes.common import uint_param
from rucksack.exchange.api.routes.subaccounts import target_account
from rucksack.exchange.checkpoints import newest_seq, own_proofs, read_records, record_at
from rucksack.exchange.reserves_export import EXCHANGE_ACCOUNTS, latest_dir, next_daily_us, publish_now, zk_status
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
        "zkStatus": zk_status(found),
        "checkpoint": _checkpoint_at(service, int(found.name)),
    }


def _checkpoint_at(service: ExchangeService, seq: int) -> Any:
    """The chain record the snapshot was cut at (its ``liabilities_root`` is the snapshot's root)."""
    return record_at(service.data_dir, seq)


async def reserves_proof(service: ExchangeService, account: int, params: Any) -> Any:
    target = target_account(service, account, params)
    found = _latest(service)
    proof = found / "proofs" / f"{target}.json"
    if not proof.is_file():  # opened after the snapshot: say when it will be in one
        due_us = next_daily_us(service.data_dir)
        due = f"at {_utc(due_us)}" if due_us is not None else "shortly"
        return {
            "seq": int(found.name),
            "account": target,
            "included": False,
            "proof": None,
            "zkProof": None,
            "nextSnapshotAt": due_us // 1000 if due_us is not None else None,
            "message": (
                f"Account {target} was opened after the newest reserves snapshot (seq {found.name}); "
                f"the next daily snapshot, due {due}, will include it."
            ),
        }
    zk_proof = found / "zk-proofs" / f"{target}.json"
    return {
        "seq": int(found.name),
        "account": target,
        "included": True,
        "proof": _read(proof),
        "zkProof": _read(zk_proof) if zk_proof.is_file() else None,
    }


def wants_zk(body: Any) -> bool:
    """The snapshot routes' ``zk`` field: also prove the zero-knowledge tier (in the background)."""
    flag = body.get("zk", False) if isinstance(body, dict) else False
    if flag in (True, "true"):
        return True
    if flag in (False, "false", None):
        return False
    raise ApiError(400, "INVALID_CLIENT_REQUEST", "zk must be true or false")


async def sandbox_reserves_snapshot(service: ExchangeService, body: Any) -> Any:
    return await publish_now(service, zk=wants_zk(body))


def _utc(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1_000_000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


async def chain(service: ExchangeService, params: dict[str, str]) -> Any:
    """The chain of signed records, oldest first, from seq ``from`` (at most ``limit``, 1000)."""
    start = uint_param(params, "from", 0)
    limit = min(uint_param(params, "limit", 1000), 1000)
    records = await asyncio.to_thread(read_records, service.data_dir, start, limit)
    return {"head": newest_seq(service.data_dir), "records": records}


async def chain_proofs(service: ExchangeService, account: int, params: Any) -> Any:
    """Inclusion proofs of the caller's own orders and fills (``subaccountId`` for an own
    subaccount) in the checkpoints from seq ``from``, at most ``limit`` (1000)."""
    target = target_account(service, account, params)
    start = uint_param(params, "from", 0)
    limit = min(uint_param(params, "limit", 1000), 1000)
    proofs = await asyncio.to_thread(own_proofs, service.data_dir, target, start, limit)
    return {"account": target, "proofs": proofs}
