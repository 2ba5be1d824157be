"""The chain of commitments on a live service (exchange.checkpoints): checkpoints at periodic snapshots
and on demand, across a restart and a takeover by a follower, each user's proofs, and the auditor's
replay of the whole journal equal to every published state hash, segment root and liabilities root."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import msgspec

from rucksack.exchange.api.wire import Wire
from rucksack.exchange.audit import audit
from rucksack.exchange.checkpoints import SegmentFile, leaves_of
from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.commands import PlaceOrder, Stamped
from rucksack.exchange.core.events import OrderAccepted, TradeExecuted
from rucksack.exchange.feeds.index import make_feed, publish_index_prices
from rucksack.exchange.makers import run_makers
from rucksack.exchange.reserves_export import publish_now, signing_key_path
from rucksack.exchange.sequencer.datadir import JOURNAL_NAME
from rucksack.exchange.sequencer.journal import ScanResult, read_journal
from rucksack.exchange.service import ExchangeService
from rucksack.reserves.chain import check_chain, check_inclusion, leaf_hash


def test_leaves_hash_as_the_standalone_verifier_does() -> None:
    """The command path writes leaves with msgspec (keys pre-sorted); the verifier's canonical JSON
    must give the same hash for every kind of leaf."""
    wire = Wire(load_spec_text(default_config_text()))
    order = PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=374, price=14997, client_id=5)
    events = [OrderAccepted(9, 1, order), TradeExecuted(3, "SOL_USDC", 14997, 100, 9, 4, 1000, 1001, "Bid", 1, 1, 1)]
    leaves = leaves_of(wire, Stamped(5, 1_700_000_000_000_000, order), events)
    assert [leaf.doc["kind"] if leaf.doc else "command" for leaf in leaves] == ["command", "order", "fill", "fill"]
    for leaf in leaves[1:]:
        assert leaf.doc is not None and leaf.hash == leaf_hash(leaf.doc)
    assert leaves[1].doc == {
        "account": 1000, "clientId": 5, "kind": "order", "orderId": "9", "orderType": "Limit", "price": "149.97",
        "quantity": "3.74", "seq": 5, "side": "Bid", "symbol": "SOL_USDC",
    }  # fmt: skip
    assert [(leaf.account, leaf.doc and leaf.doc["side"]) for leaf in leaves[2:]] == [(1000, "Bid"), (1001, "Ask")]


async def _trade(service: ExchangeService, seconds: float) -> None:
    feed = make_feed(service, "sim", 7)
    service.feed = feed
    tasks = [
        asyncio.ensure_future(run_makers(service, feed, seed=7, period=0.0)),
        asyncio.ensure_future(publish_index_prices(service, feed, period=0.02)),
    ]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _proofs_verify(service: ExchangeService) -> int:
    by_seq = {r["seq"]: r for r in service.checkpointer.records}
    owners = set()
    for path in (service.data_dir / "chain" / "segments").glob("*.msgpack"):
        owners |= {owner for _, owner, _ in msgspec.msgpack.decode(path.read_bytes(), type=SegmentFile).users}
    checked = 0
    for account in sorted(owners):
        for proof in service.checkpointer.proofs(account):
            assert proof["leaf"]["account"] == account
            assert check_inclusion(proof, by_seq[proof["checkpoint"]]) is None
            checked += 1
    return checked


def test_the_chain_survives_restart_and_the_audit_replays_it(tmp_path: Path) -> None:
    data = tmp_path / "d"

    async def first() -> list[dict[str, Any]]:
        service = ExchangeService(data, fsync=False, snapshot_every=200)
        service.start()
        for _ in range(60):  # periodic snapshots every 200 commands: a checkpoint at each
            await _trade(service, 0.5)
            if service.checkpointer.records:
                break
        assert service.checkpointer.records
        summary = await publish_now(service)  # a reserves snapshot cuts its own checkpoint
        assert summary["checkpoint"]["liabilities_root"] == summary["root"]
        assert summary["checkpoint"]["seq"] == summary["seq"]
        await service.checkpoint_now()
        assert _proofs_verify(service) > 0
        records = list(service.checkpointer.records)
        service.close()
        return records

    before = asyncio.run(first())
    assert check_chain(before) == []

    async def second() -> list[dict[str, Any]]:
        service = ExchangeService(data, fsync=False, snapshot_every=0)
        service.start()
        assert service.checkpointer.synced and service.checkpointer.records == before
        await _trade(service, 0.5)
        record = await service.checkpoint_now()
        assert record["segment"]["first"] == before[-1]["seq"] + 1  # the segment since the last one, across the restart
        records = list(service.checkpointer.records)
        service.close()
        return records

    after = asyncio.run(second())
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert check_chain(after) == []

    report = audit(data)
    assert report["ok"], report["problems"]
    assert report["records"] == report["stateHashesChecked"] == report["segmentsChecked"] == len(after)
    assert report["liabilitiesRootsChecked"] == 1

    # a served record file edited afterwards no longer matches the journal the auditor replays
    path = sorted((data / "chain" / "records").glob("*.json"))[0]
    record = json.loads(path.read_bytes())
    record["state_hash"] = "0" * 64
    path.write_text(json.dumps(record))
    assert any("differ from the journal" in p for p in audit(data)["problems"])


def test_a_follower_files_the_same_chain_and_continues_it_after_taking_over(tmp_path: Path) -> None:
    writer_dir, follower_dir = tmp_path / "w", tmp_path / "f"

    async def write() -> list[dict[str, Any]]:
        service = ExchangeService(writer_dir, fsync=False, snapshot_every=0)
        service.start()
        for _ in range(2):
            await _trade(service, 0.5)
            await service.checkpoint_now()
        await _trade(service, 0.3)  # and a segment in progress
        records = list(service.checkpointer.records)
        service.close()
        return records

    records = asyncio.run(write())

    async def follow_then_lead() -> None:
        follower_dir.mkdir()
        shutil.copy(writer_dir / "config.toml", follower_dir / "config.toml")
        key = signing_key_path(follower_dir)  # every node of a deployment holds the exchange's key
        key.parent.mkdir(parents=True)
        shutil.copy(signing_key_path(writer_dir), key)
        service = ExchangeService(follower_dir, fsync=False, snapshot_every=0)
        service.start()
        service.standby = True
        for entry in read_journal(writer_dir / JOURNAL_NAME, ScanResult()):
            service.follow(entry)
        service.exchange.journal.flush()
        service.release()
        cp = service.checkpointer
        assert cp.records == records and cp.mismatch is None  # it re-derived every segment root itself
        assert _proofs_verify(service) > 0
        service.lead()
        record = await service.checkpoint_now()
        assert record["segment"]["first"] == records[-1]["seq"] + 1
        assert check_chain(cp.records) == []
        service.close()

    asyncio.run(follow_then_lead())
    assert audit(follower_dir)["ok"]
