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
