"""The ``[points]`` and ``[affiliates]`` tables: exact units, season dates at 00:00 UTC, refusals."""

from __future__ import annotations

import pytest

from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.growth.spec import season_at
from rucksack.exchange.core.markets import SpecError

THU_2026_10_01 = 1_790_812_800_000_000  # 2026-10-01T00:00:00Z


def test_the_default_config() -> None:
    growth = load_spec_text(default_config_text()).growth
    assert [(s.name, s.start_us) for s in growth.seasons] == [
        ("Season 1", THU_2026_10_01),
        ("Season 2", 1_798_675_200_000_000),
    ]
    assert growth.seasons[0].end_us == growth.seasons[1].start_us and growth.seasons[1].end_us == 0
    assert (growth.volume_unit_atoms, growth.lend_unit, growth.hold_unit) == (
        10**6,
        100 * 10**6 * 24,
        1000 * 10**6 * 24,
    )
    assert growth.referral_rate_ppm == 100_000
    assert season_at(growth, THU_2026_10_01 - 1) == -1 and season_at(growth, THU_2026_10_01) == 0
    assert season_at(growth, growth.seasons[1].start_us) == 1


def replaced(points: str) -> str:
    text = default_config_text()
    start = text.index("[points]")
    return text[:start] + points


@pytest.mark.parametrize(
    ("points", "problem"),
    [
        ('[points]\nvolume_per_point = "0"\n', "units must be positive"),
        ('[points]\nvolume_per_point = "0.0000001"\n', "invalid exchange configuration"),  # below an atom
        ('[points]\nbonus = "1"\n', "unknown keys"),
        ('[[points.seasons]]\nname = "A"\nstart = "2026-10-08"\nend = "2026-10-01"\n', "end must be after start"),
        (
            '[[points.seasons]]\nname = "A"\nstart = "2026-10-01"\n'
            '[[points.seasons]]\nname = "B"\nstart = "2026-10-08"\n',
            "only the last season may be open-ended",
        ),
        ('[affiliates]\nrate = "0.9"\n', "referral rate"),
    ],
)
def test_refusals(points: str, problem: str) -> None:
    with pytest.raises(SpecError, match=problem):
        load_spec_text(replaced(points))
