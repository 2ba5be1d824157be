"""The gateway link's framing: any cut of the byte stream gives back the same messages, in order."""

from __future__ import annotations

import pytest

from rucksack.exchange.core.commands import Deposit, Stamped
from rucksack.exchange.gateway.protocol import (
    LENGTH,
    MAX_FRAME,
    Accepted,
    FrameBuffer,
    Released,
    Submit,
    frame,
    to_gateway,
    to_sequencer,
)


def test_frames_survive_any_cut() -> None:
    sent = [Accepted(1, 7), Released([Stamped(7, 123, Deposit(1, "USDC", 10**18, "tx"))], 2), Accepted(2, 8)]
    stream = b"".join(frame(m) for m in sent)
    for cut in (1, 3, 4, 5, 17, len(stream)):
        buf = FrameBuffer()
        got = []
        for i in range(0, len(stream), cut):
            got += [to_gateway.decode(p) for p in buf.feed(stream[i : i + cut])]
        assert got == sent


def test_a_command_round_trips_to_the_sequencer() -> None:
    msg = Submit(5, Deposit(3, "SOL", 5, "ref"))
    (payload,) = FrameBuffer().feed(frame(msg))
    assert to_sequencer.decode(payload) == msg


def test_an_oversized_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="frame"):
        FrameBuffer().feed(LENGTH.pack(MAX_FRAME + 1) + b"x")
