"""The data directory's writer lock: one writer, named when a second one is refused, and epochs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rucksack.bench.clock import SimClock
from rucksack.exchange.config import default_config_text
from rucksack.exchange.core.commands import Deposit
from rucksack.exchange.sequencer.datadir import Exchange, init_data_dir, recover
from rucksack.exchange.sequencer.journal import read_journal
from rucksack.exchange.sequencer.writer_lock import LOCK_NAME, DataDirLocked, WriterLock

HOLD = """
import sys, time
from pathlib import Path
from rucksack.exchange.sequencer.writer_lock import WriterLock
lock = WriterLock.acquire(Path(sys.argv[1]))
print("locked", flush=True)
time.sleep(60)
"""


def test_a_second_process_is_refused_naming_the_holder_until_the_holder_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(DataDirLocked) as info:
            WriterLock.acquire(tmp_path)
        assert f"pid {holder.pid} on " in str(info.value) and info.value.holder["pid"] == holder.pid
    finally:
        holder.kill()  # the kernel drops the lock with the process, however it ends
        holder.wait()
    lock = WriterLock.acquire(tmp_path)
    lock.release()


def test_each_writer_takes_the_next_epoch_and_stamps_its_records(tmp_path: Path) -> None:
    init_data_dir(tmp_path, default_config_text())
    for n in range(3):
        ex = Exchange(tmp_path, SimClock())
        assert ex.lock.epoch == n + 1
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["epoch"] == n + 1 and {"pid", "host", "started"} <= set(holder)
        ex.sequencer.submit(Deposit(1000, "USDC", 1, f"d{n}"))
        ex.close()
    (tmp_path / LOCK_NAME).unlink()  # even without the lock file the journal's epoch moves on
    ex = Exchange(tmp_path, SimClock())
    assert ex.lock.epoch == 4
    ex.close()
    assert recover(tmp_path).journal_epoch == 3  # the last writer appended nothing
    assert [e.seq for e in read_journal(tmp_path / "journal.log")] == [1, 2, 3]
