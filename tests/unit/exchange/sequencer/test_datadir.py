"""Sequencer + data directory: durability-gated events, snapshots, recovery after damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from rucksack.bench.clock import SimClock
from rucksack.exchange.config import default_config_text
from rucksack.exchange.core.commands import Deposit, PlaceOrder
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.state import state_hash
from rucksack.exchange.sequencer.datadir import Exchange, init_data_dir, recover
from rucksack.exchange.sequencer.journal import JournalCorrupt, frame, read_entries
from rucksack.exchange.sequencer.sequencer import Sequencer, SequencerHalted


def commands(n: int) -> list[object]:
    out: list[object] = [Deposit(1000, "USDC", 10**12, "a"), Deposit(1001, "SOL", 10**13, "b")]
    for i in range(n):
        out.append(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=1 + i % 7, price=15_000 - i % 5))
        out.append(PlaceOrder(1001, "SOL_USDC", "Ask", "Limit", lots=1 + i % 5, price=14_998 + i % 4))
    return out


def open_exchange(path: Path) -> Exchange:
    init_data_dir(path, default_config_text())
    return Exchange(path, SimClock())


def test_events_are_released_only_after_fsync(tmp_path: Path) -> None:
    init_data_dir(tmp_path, default_config_text())
    ex = Exchange(tmp_path, SimClock(), threaded_journal=False)  # syncs only when told to
    seen: list[int] = []
    ex.sequencer.listeners.append(lambda seq, ts, events: seen.append(seq))
    for c in commands(50):
        ex.sequencer.submit(c)  # type: ignore[arg-type]
    assert ex.sequencer.release() == 0 and seen == []  # applied, not durable: nothing published
    ex.journal.flush()
    assert ex.sequencer.release() == 102 and seen == list(range(1, 103))
    ex.close()


def test_recover_snapshot_plus_tail_equals_live(tmp_path: Path) -> None:
    ex = open_exchange(tmp_path)
    for i, c in enumerate(commands(200)):
        ex.sequencer.submit(c)  # type: ignore[arg-type]
        if i in (57, 301):
            ex.snapshot()
    live = ex.state_hash()
    ex.close()
    rec = recover(tmp_path)
    assert state_hash(rec.engine) == live and rec.snapshot_seq == 302 and rec.replayed == 100
    # a damaged newest snapshot falls back to the older one
    newest = sorted((tmp_path / "snapshots").glob("*.bin"))[-1]
    newest.write_bytes(newest.read_bytes()[:-3] + b"xyz")
    rec = recover(tmp_path)
    assert state_hash(rec.engine) == live and rec.snapshot_seq == 58 and rec.skipped_snapshots


def test_restart_after_torn_tail_continues_the_sequence(tmp_path: Path) -> None:
    ex = open_exchange(tmp_path)
    for c in commands(20):
        ex.sequencer.submit(c)  # type: ignore[arg-type]
    ex.close()
    journal = tmp_path / "journal.log"
    journal.write_bytes(journal.read_bytes() + frame(b"\x93\x01\x02")[:5])
    ex = open_exchange(tmp_path)
    assert ex.journal.torn_bytes_truncated == 5 and ex.sequencer.seq == 42
    ex.sequencer.submit(Deposit(1002, "USDC", 1, "c"))
    live = ex.state_hash()
    ex.close()
    assert state_hash(recover(tmp_path).engine) == live


def test_config_is_pinned_to_the_data_dir(tmp_path: Path) -> None:
    init_data_dir(tmp_path, default_config_text())
    with pytest.raises(ValueError, match="differs"):
        init_data_dir(tmp_path, default_config_text() + "\n# changed\n")


def test_engine_exception_halts_the_sequencer() -> None:
    engine = Engine(__import__("rucksack.exchange.config", fromlist=["load_spec"]).load_spec()[0])
    seq = Sequencer(engine, None, SimClock())
    with pytest.raises(SequencerHalted):
        seq.submit("not a command")  # type: ignore[arg-type]
    with pytest.raises(SequencerHalted):
        seq.submit(Deposit(1000, "USDC", 1, "x"))


def test_unencodable_command_is_refused_before_anything_happens(tmp_path: Path) -> None:
    from rucksack.exchange.sequencer.sequencer import UnencodableCommand

    ex = open_exchange(tmp_path)
    ex.sequencer.submit(Deposit(1000, "USDC", 10**12, "a"))
    before = ex.state_hash()
    with pytest.raises(UnencodableCommand):
        ex.sequencer.submit(PlaceOrder(1000, "SOL_USDC", "Bid", "Limit", lots=1, price=10**30))
    assert ex.state_hash() == before and ex.sequencer.seq == 1 and ex.sequencer.halted is None
    ex.sequencer.submit(Deposit(1000, "USDC", 1, "b"))  # still accepting commands
    ex.close()
    assert recover(tmp_path).engine.last_seq == 2


def test_periodic_snapshots_are_due_every_n_commands_and_written_from_another_thread(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    init_data_dir(tmp_path, default_config_text())
    ex = Exchange(tmp_path, SimClock(), threaded_journal=False, snapshot_every=50)
    written: list[int] = []
    with ThreadPoolExecutor(1) as writer:
        for c in commands(100):
            ex.sequencer.submit(c)  # type: ignore[arg-type]
            if ex.sequencer.seq % 10 == 0:
                ex.journal.flush()  # the server's group commit, once per loop iteration
            if ex.snapshot_due():  # only once the journal covers the state
                written.append(writer.submit(ex.save, ex.capture_periodic()).result()[0])
    assert written == [50, 100, 150, 200]
    ex.sequencer.submit(Deposit(1000, "USDC", 1, "tail"))
    ex.journal.flush()
    rec = recover(tmp_path)  # a crash now: the newest periodic snapshot plus the tail
    assert (rec.snapshot_seq, rec.replayed) == (200, 3) and state_hash(rec.engine) == ex.state_hash()
    ex.close()
    # each periodic snapshot archived the journal there: the active file holds only the tail
    segments = sorted(p.name for p in tmp_path.glob("journal-*.log"))
    assert segments == [f"journal-{a:012d}-{b:012d}.log" for a, b in ((1, 50), (51, 100), (101, 150), (151, 200))]
    assert [e.seq for e in read_entries(tmp_path / "journal.log")] == [201, 202, 203]
    for snapshot in (tmp_path / "snapshots").glob("*.bin"):
        snapshot.unlink()
    rec = recover(tmp_path)  # without snapshots: every segment, in order, from the start
    assert (rec.snapshot_seq, rec.replayed) == (0, 203) and state_hash(rec.engine) == ex.state_hash()
    reopened = Exchange(tmp_path, SimClock())  # and the writer continues after the segments
    assert reopened.sequencer.submit(Deposit(1000, "USDC", 1, "next"))[0] == 204
    reopened.close()
    (tmp_path / "journal-000000000051-000000000100.log").unlink()
    with pytest.raises(JournalCorrupt, match="segment gap: 50 then 101"):
        recover(tmp_path)


def test_a_failing_listener_halts_writes_but_the_others_still_hear_every_command(tmp_path: Path) -> None:
    ex = open_exchange(tmp_path)
    heard: list[int] = []

    def broken(seq: int, ts_us: int, events: list[object]) -> None:
        if seq == 2:
            raise OverflowError("a deliberately failing read model")

    ex.sequencer.listeners += [broken, lambda seq, ts, events: heard.append(seq)]  # type: ignore[list-item]
    for c in commands(1)[:3]:
        ex.sequencer.submit(c)  # type: ignore[arg-type]
    ex.sequencer.flush()
    assert heard == [1, 2, 3] and isinstance(ex.sequencer.halted, OverflowError)
    with pytest.raises(SequencerHalted):
        ex.sequencer.submit(Deposit(1000, "USDC", 1, "later"))
    ex.close()


def test_a_halted_exchange_writes_no_snapshot(tmp_path: Path) -> None:
    """After an engine failure the state may be half-applied: a snapshot of it would hide the
    failing command from every later recovery, so none is written, periodic or at shutdown."""
    init_data_dir(tmp_path, default_config_text())
    ex = Exchange(tmp_path, SimClock(), threaded_journal=False, snapshot_every=1)
    ex.sequencer.submit(Deposit(1000, "USDC", 10, "a"))

    def half_applied(command: object, seq: int, ts_us: int) -> list[object]:  # a deliberate engine bug
        ex.engine.ledger.deposited[0] += 5
        raise RuntimeError("bug in the middle of a command")

    ex.engine.apply = half_applied  # type: ignore[assignment]
    with pytest.raises(SequencerHalted):
        ex.sequencer.submit(Deposit(1000, "USDC", 5, "b"))
    ex.journal.flush()
    assert not ex.snapshot_due() and ex.snapshot() is None
    ex.close()
    assert list((tmp_path / "snapshots").glob("*.bin")) == []
