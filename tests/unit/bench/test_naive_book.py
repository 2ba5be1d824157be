"""The naive reference book (the yardstick of ``bench engine``'s ``vs_naive``) matches by price
then time at the maker's price, cancels in O(1) and rests only GTC limit remainders."""

from __future__ import annotations

from rucksack.bench.naive_book import NaiveBook, decode
from rucksack.exchange.core.commands import CancelOrder, Command, Deposit, PlaceOrder


def run(cmds: list[Command]) -> NaiveBook:
    book = NaiveBook()
    book.run(decode(cmds))
    return book


def test_price_then_time_priority_at_the_makers_price() -> None:
    book = run(
        [
            PlaceOrder(1, "SOL_USDC", "Ask", "Limit", lots=5, price=101),  # id 1
            PlaceOrder(2, "SOL_USDC", "Ask", "Limit", lots=5, price=100),  # id 2
            PlaceOrder(3, "SOL_USDC", "Ask", "Limit", lots=5, price=100),  # id 3
            PlaceOrder(4, "SOL_USDC", "Bid", "Limit", lots=12, price=101),  # id 4 takes 2, 3, then 1
        ]
    )
    assert book.events == [(4, 2, 100, 5), (4, 3, 100, 5), (4, 1, 101, 2)]
    assert list(book.orders) == [1] and book.orders[1][3] == 3


def test_cancelled_orders_are_skipped_and_other_commands_ignored() -> None:
    book = run(
        [
            PlaceOrder(1, "SOL_USDC", "Ask", "Limit", lots=5, price=100),  # id 1
            PlaceOrder(1, "SOL_USDC", "Ask", "Limit", lots=5, price=100),  # id 2
            Deposit(1, "USDC", 10, "t"),
            CancelOrder(1, "SOL_USDC", order_id=1),
            PlaceOrder(2, "SOL_USDC", "Bid", "Market", lots=8, tif="IOC"),  # id 3
            PlaceOrder(2, "SOL_USDC", "Bid", "Limit", lots=1, price=99, tif="IOC"),  # id 4: does not rest
        ]
    )
    assert book.events == [(3, 2, 100, 5)]
    assert book.orders == {}
