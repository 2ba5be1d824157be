"""The replicated journal on a real 3-node JetStream cluster: groups, fencing, lost acks."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from rucksack.exchange.core.commands import Deposit, Stamped
from rucksack.exchange.replica.lease import Lease
from rucksack.exchange.replica.link import NatsLink, ensure_streams
from rucksack.exchange.replica.node import read_stream
from rucksack.exchange.replica.stream import Fenced, StreamWriter
from rucksack.exchange.sequencer.journal import encode_entry, frame


def records(first: int, last: int) -> list[bytes]:
    return [
        frame(encode_entry(Stamped(s, 1000 + s, Deposit(1000, "USDC", s, f"tx{s}")))) for s in range(first, last + 1)
    ]


@pytest.fixture
def links(nats_url: str) -> Iterator[tuple[NatsLink, NatsLink]]:
    a, b = NatsLink(nats_url), NatsLink(nats_url)
    a.call(ensure_streams(a.js, 2.0), 30)
    yield a, b
    a.close()
    b.close()


def writer(link: NatsLink, name: str, fenced: list[str]) -> StreamWriter:
    return StreamWriter(link, name, lambda: True, fenced.append)


def test_groups_are_appended_in_order_with_their_commands(links: tuple[NatsLink, NatsLink], nats_url: str) -> None:
    a = writer(links[0], "a", [])
    a.append_group(records(1, 2), 2)  # following: appends nothing
    a.take_over(0, epoch=1)
    a.append_group(records(1, 3), 3)
    a.append_group(records(4, 4), 4)
    stream = read_stream(nats_url)
    assert [s for s, _, _ in stream] == [1, 2, 3]
    assert stream[0][1]["Rk-Epoch"] == "1" and stream[0][2] == []  # the marker
    assert [e.seq for _, _, entries in stream for e in entries] == [1, 2, 3, 4]
    assert stream[1][1]["Rk-First"] == "1" and stream[1][1]["Rk-Last"] == "3"


def test_a_deposed_writer_can_never_append(links: tuple[NatsLink, NatsLink], nats_url: str) -> None:
    fenced: list[str] = []
    a, b = writer(links[0], "a", fenced), writer(links[1], "b", [])
    a.take_over(0, epoch=1)
    a.append_group(records(1, 2), 2)
    with pytest.raises(Fenced):  # b has not read a's group: its marker is refused
        b.take_over(1, epoch=2)
    b.take_over(2, epoch=2)  # after reading it
    with pytest.raises(Fenced):
        a.append_group(records(3, 3), 3)
    assert fenced and "another writer" in fenced[0]
    b.append_group(records(3, 3), 3)
    stream = read_stream(nats_url)
    assert [(h["Rk-Writer"], [e.seq for e in entries]) for _, h, entries in stream] == [
        ("a", []),
        ("a", [1, 2]),
        ("b", []),
        ("b", [3]),
    ]


def test_a_retried_append_whose_ack_was_lost_is_not_written_twice(
    links: tuple[NatsLink, NatsLink], nats_url: str
) -> None:
    a = writer(links[0], "a", [])
    a.take_over(0, epoch=1)
    a.append_group(records(1, 2), 2)
    a.stream_last = 1  # as if the ack of stream message 2 never arrived
    a.append_group(records(1, 2), 2)
    assert a.stream_last == 2
    a.append_group(records(3, 3), 3)
    assert [e.seq for _, _, entries in read_stream(nats_url) for e in entries] == [1, 2, 3]


def test_a_writer_without_a_valid_lease_appends_nothing(links: tuple[NatsLink, NatsLink], nats_url: str) -> None:
    fenced: list[str] = []
    valid = [True]
    a = StreamWriter(links[0], "a", lambda: valid[0], fenced.append)
    a.take_over(0, epoch=1)
    valid[0] = False
    with pytest.raises(Fenced):
        a.append_group(records(1, 1), 1)
    assert fenced and len(read_stream(nats_url)) == 1


def test_the_lease_is_exclusive_and_lapses_when_not_renewed(links: tuple[NatsLink, NatsLink]) -> None:
    a = Lease(links[0], "a", "http://a", ttl=2.0)  # the bucket's TTL (the fixture's ensure_streams)
    b = Lease(links[1], "b", "http://b", ttl=2.0)
    assert links[0].call(a.try_acquire())
    assert a.valid()
    assert not links[1].call(b.try_acquire())
    assert links[1].call(b.holder()) == {"writer": "a", "address": "http://a", "pid": os.getpid()}
    deadline = time.monotonic() + 5
    while not links[1].call(b.try_acquire()):  # a never renews: its key expires with the TTL
        assert time.monotonic() < deadline, "the lease never lapsed"
        time.sleep(0.05)
    assert not a.valid()
    lost: list[str] = []
    links[0].call(a.renew_forever(lost.append), 5)
    assert lost and a.lost is not None


def test_a_standby_takes_a_lease_not_renewed_for_a_whole_ttl(links: tuple[NatsLink, NatsLink]) -> None:
    a = Lease(links[0], "a", "http://a", ttl=2.0)
    b = Lease(links[1], "b", "http://b", ttl=2.0)
    assert links[0].call(a.try_acquire())
    started = time.monotonic()
    while not links[1].call(b.try_take_over()):
        assert time.monotonic() - started < 4.0, "never taken over"
        time.sleep(0.05)
    assert time.monotonic() - started >= 2.0 - 0.1  # a whole TTL after b first saw a's revision
    assert not a.valid() and b.valid() and b.revision > a.revision
    lost: list[str] = []
    links[0].call(a.renew_forever(lost.append), 5)
    assert lost


def test_a_released_lease_is_taken_at_once_and_names_the_writers_link(links: tuple[NatsLink, NatsLink]) -> None:
    """A clean stop gives the lease up: the standby takes it at its next try, not a TTL later; the
    renewal loop then ends quietly (not "lost": nobody must fence a writer that stopped). The value
    carries what independent gateways need (``serve --link``)."""
    published = {"link": "127.0.0.1:7100", "api": "http://127.0.0.1:7101", "data_dir": "/d"}
    a = Lease(links[0], "a", "http://a", ttl=2.0, published=published)
    b = Lease(links[1], "b", "http://b", ttl=2.0)
    assert links[0].call(a.try_acquire())
    assert links[1].call(b.holder()) == {"writer": "a", "address": "http://a", "pid": os.getpid(), **published}
    lost: list[str] = []
    renewing = links[0].spawn(a.renew_forever(lost.append))
    time.sleep(0.5)  # a few renewals
    assert not links[1].call(b.try_take_over())
    started = time.monotonic()
    links[0].call(a.release())
    assert links[1].call(b.try_take_over())
    assert time.monotonic() - started < 1.0 and b.valid()
    renewing.result(timeout=5)
    assert lost == [] and a.lost == "released"
