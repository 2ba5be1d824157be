from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rucksack.exchange.core.numeric import (
    DecimalError,
    ceil_div,
    decimal_places,
    fee_atoms,
    format_decimal,
    parse_decimal,
)


@pytest.mark.parametrize(
    ("text", "scale", "value"),
    [("1.25", 2, 125), ("1.2500", 2, 125), ("0", 6, 0), ("007.5", 1, 75), ("123", 0, 123), ("0.000001", 6, 1)],
)
def test_parse_exact(text: str, scale: int, value: int) -> None:
    assert parse_decimal(text, scale) == value


@pytest.mark.parametrize(
    "text", ["1.255", "1e3", "NaN", "inf", "", " 1", "1.", ".5", "-1", "1,5", "0x10", "١", "1\n", "1.5\n"]
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(DecimalError):
        parse_decimal(text, 2)


def test_signed_and_places() -> None:
    assert parse_decimal("-0.5", 1, signed=True) == -5
    assert decimal_places("0.0100") == 2
    assert format_decimal(-125, 2) == "-1.25" and format_decimal(5, 0) == "5"


@given(st.integers(-(10**30), 10**30), st.integers(0, 18))
def test_format_parse_round_trip(value: int, scale: int) -> None:
    assert parse_decimal(format_decimal(value, scale), scale, signed=True) == value


@given(st.integers(0, 10**20), st.integers(0, 999_999))
def test_fee_rounds_up(amount: int, rate: int) -> None:
    fee = fee_atoms(amount, rate)
    assert fee * 1_000_000 >= amount * rate > (fee - 1) * 1_000_000 or amount * rate == 0 == fee
    assert ceil_div(7, 2) == 4 and ceil_div(-7, 2) == -3
