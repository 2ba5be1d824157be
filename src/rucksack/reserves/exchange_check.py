"""``rucksack verify-exchange --url URL``: check an exchange's public chain of commitments over HTTP.

Fetches every record (``GET /api/v1/chain``, paged) and checks them with
``rucksack.reserves.chain.check_chain`` (signatures under one key -- ``--public-key`` pins it --,
``prev_hash`` links, increasing seqs, segments that tile the journal). Then the newest reserves
snapshot (``GET /api/v1/reserves/snapshot``): it must name the checkpoint it was cut at, that record
must be in the chain, carry the snapshot's root as its ``liabilities_root`` and be signed by the key
that signed the snapshot. A head older than two hours is a warning (checkpoints are at least hourly).
Imports nothing from the exchange; httpx + PyNaCl.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from rucksack.reserves.chain import check_chain
from rucksack.reserves.signing import check_signature

STALE_US = 2 * 3_600_000_000


def fetch_chain(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while True:
        start = records[-1]["seq"] + 1 if records else 0
        r = client.get(url + "/api/v1/chain", params={"from": start, "limit": 1000})
        r.raise_for_status()
        page = r.json()["records"]
        records += page
        if len(page) < 1000:
            return records


def verify_exchange(url: str, public_key: str | None = None, *, now_us: int | None = None) -> dict[str, Any]:
    url = url.rstrip("/")
    with httpx.Client(timeout=60) as client:
        records = fetch_chain(client, url)
        snap_r = client.get(url + "/api/v1/reserves/snapshot")
    problems = check_chain(records, public_key)
    warnings: list[str] = []
    if not records:
        problems.append("the exchange has published no record")
    head = records[-1] if records else None
    now = now_us if now_us is not None else time.time_ns() // 1000
    if head is not None and now - int(head["ts_us"]) > STALE_US:
        warnings.append(f"the newest record (seq {head['seq']}) is more than two hours old")
    if public_key is None:
        warnings.append("the exchange's key is not pinned (pass --public-key, obtained independently)")
    reserves: dict[str, Any] | None = None
    if snap_r.status_code == 200:
        doc = snap_r.json()
        snapshot, record = doc["snapshot"], doc.get("checkpoint")
        reserves = {"seq": doc["seq"], "root": snapshot.get("root"), "checkpoint": record is not None}
        why = check_signature("snapshot", snapshot)
        if why:
            problems.append(f"reserves snapshot {doc['seq']}: {why}")
        if record is None:
            problems.append(f"reserves snapshot {doc['seq']} names no checkpoint")
        else:
            if record not in records:
                problems.append(f"reserves snapshot {doc['seq']}: its checkpoint is not in the chain")
            if record.get("liabilities_root") != snapshot.get("root"):
                problems.append(f"reserves snapshot {doc['seq']}: its checkpoint's liabilities_root is not its root")
            if record.get("public_key") != snapshot.get("public_key"):
                problems.append(f"reserves snapshot {doc['seq']}: signed by another key than its checkpoint")
    elif snap_r.status_code != 404:
        problems.append(f"GET /api/v1/reserves/snapshot answered {snap_r.status_code}")
    return {
        "ok": not problems,
        "url": url,
        "records": len(records),
        "head": {"seq": head["seq"], "ts_us": head["ts_us"], "state_hash": head["state_hash"]} if head else None,
        "publicKey": records[0]["public_key"] if records else None,
        "reserves": reserves,
        "problems": problems,
        "warnings": warnings,
    }


__all__ = ["fetch_chain", "verify_exchange"]
