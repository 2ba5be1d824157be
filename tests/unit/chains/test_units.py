from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rucksack.chains.units import Credit, NotRepresentable, deposit_credit, withdrawal_step, withdrawal_units


def test_eth_deposit_rounds_down_and_reports_dust() -> None:
    # 1.234567891234567891 ETH (18 decimals) -> 1.23456789 ETH in 8-decimal atoms
    assert deposit_credit(1_234_567_891_234_567_891, 18, 8) == Credit(123_456_789, 1_234_567_891)
    assert deposit_credit(9_999_999_999, 18, 8) == Credit(0, 9_999_999_999)  # below one atom: all dust
    assert deposit_credit(10**10, 18, 8) == Credit(1, 0)


def test_same_decimals_is_exact() -> None:
    assert deposit_credit(1_000_000_007, 9, 9) == Credit(1_000_000_007, 0)
    assert withdrawal_units(42, 6, 6) == 42


def test_eclipse_eth_9_chain_decimals_to_8() -> None:
    assert deposit_credit(1_000_000_005, 9, 8) == Credit(100_000_000, 5)
    assert withdrawal_units(100_000_000, 9, 8) == 1_000_000_000


def test_coarser_chain_withdrawals_must_be_whole_steps() -> None:
    assert deposit_credit(7, 2, 4) == Credit(700, 0)
    assert withdrawal_step(2, 4) == 100
    assert withdrawal_units(700, 2, 4) == 7
    with pytest.raises(NotRepresentable):
        withdrawal_units(701, 2, 4)


def test_rejects_bad_amounts() -> None:
    with pytest.raises(ValueError):
        deposit_credit(-1, 18, 8)
    with pytest.raises(TypeError):
        deposit_credit(1.5, 18, 8)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**40), st.integers(0, 24), st.integers(0, 24))
def test_dust_rule_invariants(units: int, chain_dec: int, ex_dec: int) -> None:
    credit = deposit_credit(units, chain_dec, ex_dec)
    shift = chain_dec - ex_dec
    if shift >= 0:
        assert credit.atoms * 10**shift + credit.dust == units
        assert 0 <= credit.dust < 10**shift
        assert withdrawal_units(credit.atoms, chain_dec, ex_dec) == units - credit.dust  # never more than arrived
    else:
        assert credit.dust == 0
        assert withdrawal_units(credit.atoms, chain_dec, ex_dec) == units
