"""Order statuses and their allowed transitions."""

from rucksack.exchange.core.enums import ORDER_TRANSITIONS, OrderStatus, is_closed, may_transition


def test_open_orders_move_forward_and_closed_ones_stay_closed() -> None:
    assert may_transition(OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
    assert may_transition(OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
    assert may_transition(OrderStatus.TRIGGER_PENDING, OrderStatus.NEW)
    assert may_transition(OrderStatus.TRIGGER_PENDING, OrderStatus.TRIGGER_FAILED)
    assert not may_transition(OrderStatus.NEW, OrderStatus.TRIGGER_PENDING)
    assert not may_transition(OrderStatus.FILLED, OrderStatus.CANCELLED)
    closed = {s for s in ORDER_TRANSITIONS if is_closed(s)}
    assert closed == {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.TRIGGER_FAILED}
    assert not is_closed("Bogus")
