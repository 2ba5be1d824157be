"""Journal framing, torn tails and mid-file corruption."""

from __future__ import annotations

from pathlib import Path

import pytest

from rucksack.exchange.core.commands import Deposit, Stamped
from rucksack.exchange.sequencer.journal import (
    HEADER,
    MAGIC,
    JournalCorrupt,
    JournalWriter,
    encode_entry,
    frame,
    read_entries,
    scan,
)


def entry(seq: int) -> bytes:
    return encode_entry(Stamped(seq, 1_000 + seq, Deposit(1000, "USDC", seq, f"tx-{seq}")))


def write(path: Path, n: int) -> list[int]:
    """Write n records with the real writer; return each record's start offset."""
    writer = JournalWriter(path)
    for seq in range(1, n + 1):
        writer.append(seq, entry(seq))
    writer.wait_durable(n)
    writer.close()
    offsets, off = [], len(MAGIC)
    for seq in range(1, n + 1):
        offsets.append(off)
        off += HEADER.size + len(entry(seq))
    return offsets


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    write(path, 5)
    entries = list(read_entries(path))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[2].command == Deposit(1000, "USDC", 3, "tx-3")
    assert [e.seq for e in read_entries(path, after_seq=3)] == [4, 5]


@pytest.mark.parametrize("cut", [1, 4, 8, 9, 20])
def test_torn_last_record_is_reported_then_truncated(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "j.log"
    write(path, 4)
    whole = path.read_bytes()
    path.write_bytes(whole + frame(entry(5))[:cut])  # crash mid-write of record 5
    result = scan(path)
    assert (result.last_seq, result.torn_bytes) == (4, cut)
    writer = JournalWriter(path)  # opening for writing truncates the tail
    assert writer.torn_bytes_truncated == cut and writer.last_seq == 4
    writer.append(5, entry(5))
    writer.wait_durable(5)
    writer.close()
    assert [e.seq for e in read_entries(path)] == [1, 2, 3, 4, 5]


def test_torn_tail_with_garbage_checksum_or_zero_fill(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    write(path, 3)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # last record's payload damaged: nothing after it, so torn
    path.write_bytes(bytes(data))
    assert scan(path).last_seq == 2
    path.write_bytes(bytes(data[:-1]) + bytes([data[-1] ^ 0xFF]) + b"\x00" * 64)  # zero-filled tail
    result = scan(path)
    assert (result.last_seq, result.torn_bytes) == (3, 64)


def test_mid_file_corruption_is_refused_with_offset(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    offsets = write(path, 5)
    data = bytearray(path.read_bytes())
    data[offsets[2] + HEADER.size + 2] ^= 0x01  # flip a bit inside record 3
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt) as info:
        scan(path)
    assert info.value.offset == offsets[2]
    assert f"offset {offsets[2]}" in str(info.value)
    with pytest.raises(JournalCorrupt):
        JournalWriter(path)  # never silently skipped, not even when opening for writing


def test_sequence_gap_is_corruption(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    path.write_bytes(MAGIC + frame(entry(1)) + frame(entry(3)) + frame(entry(4)))
    with pytest.raises(JournalCorrupt, match="sequence gap"):
        scan(path)


def test_bad_magic_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    assert scan(path).count == 0
    path.write_bytes(b"NOTAJOURNAL" + frame(entry(1)))
    with pytest.raises(JournalCorrupt, match="magic"):
        scan(path)


def test_writer_reports_durability_through_callback(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "j.log")
    seen: list[int] = []
    writer.on_durable = seen.append
    for seq in range(1, 101):
        writer.append(seq, entry(seq))
    assert writer.wait_durable(100, timeout=10)
    writer.close()
    assert seen and seen[-1] == 100 and seen == sorted(seen)


def test_inline_mode_syncs_only_when_the_owner_flushes(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    writer = JournalWriter(path, threaded=False)
    for seq in range(1, 4):
        writer.append(seq, entry(seq))
    assert writer.pending and writer.durable_seq == 0
    assert scan(path).count == 0  # nothing written before the flush
    assert writer.flush() == 3 and not writer.pending and writer.flushes == 1
    assert [e.seq for e in read_entries(path)] == [1, 2, 3]
    writer.append(4, entry(4))
    assert writer.wait_durable(4)  # flushes in the caller's thread
    writer.close()
    assert scan(path).last_seq == 4


def stamped(seq: int, ts_us: int) -> bytes:
    return encode_entry(Stamped(seq, ts_us, Deposit(1000, "USDC", seq, f"tx-{seq}")))


def test_records_carry_the_writer_epoch_and_the_checksum_covers_it(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    writer = JournalWriter(path, epoch=7)
    writer.append(1, entry(1))
    writer.close()
    data = bytearray(path.read_bytes())
    assert HEADER.unpack_from(data, len(MAGIC))[2] == 7
    result = scan(path)
    assert (result.last_seq, result.last_epoch, result.last_ts_us) == (1, 7, 1_001)
    with pytest.raises(ValueError, match="below the journal's last"):
        JournalWriter(path, epoch=6)  # a writer never stamps an older epoch after a newer one
    data[len(MAGIC) + 8] = 3  # the epoch field changed: the record no longer checks (here torn: last)
    path.write_bytes(bytes(data))
    assert scan(path).torn_bytes == len(data) - len(MAGIC)


def test_timestamps_going_backwards_are_a_second_history(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    records = [frame(stamped(1, 500)), frame(stamped(2, 600)), frame(stamped(3, 550)), frame(stamped(4, 700))]
    path.write_bytes(MAGIC + b"".join(records))
    with pytest.raises(JournalCorrupt) as info:
        scan(path)
    offset = len(MAGIC) + len(records[0]) + len(records[1])
    assert (info.value.offset, info.value.seq) == (offset, 3)
    assert f"{path} is corrupt at byte offset {offset} (seq 3): timestamp goes backwards: 600 then 550" in str(
        info.value
    )


def test_epochs_going_backwards_are_a_second_history(tmp_path: Path) -> None:
    path = tmp_path / "j.log"
    path.write_bytes(MAGIC + frame(stamped(1, 1), 2) + frame(stamped(2, 2), 3) + frame(stamped(3, 3), 2))
    with pytest.raises(JournalCorrupt, match=r"\(seq 3\): writer epoch goes backwards: 3 then 2"):
        scan(path)


def test_format_1_journals_still_read_and_a_writer_archives_them(tmp_path: Path) -> None:
    """Journals written before the epoch (magic RKJOURN1, 8-byte headers) replay as epoch 0; the
    next writer archives the old active file as a segment and continues in format 2."""
    from rucksack.exchange.sequencer.journal import MAGIC_V1, frame_v1, read_journal

    path = tmp_path / "journal.log"
    path.write_bytes(MAGIC_V1 + b"".join(frame_v1(entry(s)) for s in range(1, 4)) + frame_v1(entry(4))[:7])
    result = scan(path)
    assert (result.version, result.last_seq, result.last_epoch, result.torn_bytes) == (1, 3, 0, 7)
    writer = JournalWriter(path, epoch=1)
    writer.append(4, entry(4))
    writer.close()
    assert (tmp_path / "journal-000000000001-000000000003.log").read_bytes()[:8] == MAGIC_V1
    assert path.read_bytes()[:8] == MAGIC and scan(path).last_epoch == 1
    assert [e.seq for e in read_journal(path)] == [1, 2, 3, 4]
