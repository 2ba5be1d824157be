"""Starting the service parses the data directory's configuration once, new or existing."""

from __future__ import annotations

from pathlib import Path

import pytest

from rucksack.exchange.config import load_spec_text
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.service import ExchangeService


def test_config_is_parsed_once_per_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []

    def counting(text: str) -> ExchangeSpec:
        parsed.append(text)
        return load_spec_text(text)

    monkeypatch.setattr("rucksack.exchange.sequencer.datadir.load_spec_text", counting)
    for _ in ("new data dir", "existing data dir"):
        parsed.clear()
        service = ExchangeService(tmp_path / "d", sandbox=False)
        assert len(parsed) == 1
        service.close()


def test_a_seeded_standby_refuses_a_shared_store_behind_its_snapshot(tmp_path: Path, pg_dsn: str) -> None:
    """A standby seeded from the replicated snapshot at seq 40 projects after it; the writer's
    PostgreSQL store at 0 would never get 1..40 from it, so the start is refused, saying why."""
    from rucksack.exchange.config import default_config_text
    from rucksack.exchange.sequencer.datadir import init_data_dir
    from rucksack.exchange.store import StoreUnavailable

    init_data_dir(tmp_path, default_config_text())
    (tmp_path / "journal.base").write_text("40")
    with pytest.raises(StoreUnavailable, match="behind the replicated snapshot"):
        ExchangeService(tmp_path, store=pg_dsn, follower=True, inline_commit=False)
