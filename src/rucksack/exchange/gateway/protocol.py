"""The link between the sequencer process and its gateways: framed MessagePack over a Unix socket.

A frame is a 4-byte little-endian length and one MessagePack message (a tagged msgspec struct).

Gateway -> sequencer: ``Hello`` (first, once), ``Submit`` (a command to sequence), ``Applied``
(the replica has applied every command up to ``seq``), ``Sync`` (a barrier: answer with the
sequencer's latest seq).

Sequencer -> gateway: ``Welcome`` (the state transfer: a snapshot at a seq every command up to
which is durable, projected and released), ``Accepted``/``Refused`` (the answer to a ``Submit``,
sent at once -- before its ``Released`` on the same ordered stream), ``Released`` (durable,
projected commands, in seq order, stamped as journaled), ``Visible`` (every connected gateway's
replica has applied up to ``seq``: a gateway acknowledges a write only then, so a client that
reads from another gateway next sees it; when ``Released.peers`` is 1 the only gateway knows that
itself once it has applied them and sends no ``Applied`` for them, saving the round trip and a
wake-up of each process per group -- a gateway that joins later starts from a snapshot that holds
them), ``Synced`` (the answer to ``Sync``), ``Role`` (a hot standby became the writer).

The link runs over the sequencer's Unix socket (its own gateways, ``serve --gateways N``) and, with
``serve --link HOST:PORT``, over loopback TCP as well (independent gateways, ``rucksack gateway``,
which find that address in the writer lease: ``gateway.discovery``).
"""

from __future__ import annotations

import struct

import msgspec

from rucksack.exchange.core.commands import Command, Stamped

LENGTH = struct.Struct("<I")
MAX_FRAME = 256 * 1024 * 1024  # a Welcome carries a whole snapshot


class Hello(msgspec.Struct, tag=1, array_like=True, frozen=True):
    pid: int


class Submit(msgspec.Struct, tag=2, array_like=True, frozen=True):
    req: int
    command: Command


class Applied(msgspec.Struct, tag=3, array_like=True, frozen=True):
    seq: int


class Sync(msgspec.Struct, tag=4, array_like=True, frozen=True):
    req: int


class Welcome(msgspec.Struct, tag=10, array_like=True, frozen=True):
    seq: int
    snapshot: bytes
    started_us: int
    config: str = ""  # the venue's config.toml: what a gateway without the data dir parses its spec from
    standby: bool = False  # the sequencer is a hot standby: writes are refused until ``Role(False)``


class Accepted(msgspec.Struct, tag=11, array_like=True, frozen=True):
    req: int
    seq: int


class Refused(msgspec.Struct, tag=12, array_like=True, frozen=True):
    req: int
    kind: str  # "halted", "standby" (not the writer yet) or "unencodable"
    message: str


class Released(msgspec.Struct, tag=13, array_like=True, frozen=True):
    entries: list[Stamped]
    peers: int  # gateways connected when sent: with one, applying is being visible everywhere


class Visible(msgspec.Struct, tag=14, array_like=True, frozen=True):
    seq: int


class Synced(msgspec.Struct, tag=15, array_like=True, frozen=True):
    req: int
    seq: int


class Role(msgspec.Struct, tag=16, array_like=True, frozen=True):
    standby: bool  # the hot standby took over (False): writes are accepted from now on


ToSequencer = Hello | Submit | Applied | Sync
ToGateway = Welcome | Accepted | Refused | Released | Visible | Synced | Role

_encoder = msgspec.msgpack.Encoder()
to_sequencer = msgspec.msgpack.Decoder(ToSequencer)
to_gateway = msgspec.msgpack.Decoder(ToGateway)


def frame(message: msgspec.Struct) -> bytes:
    payload = _encoder.encode(message)
    return LENGTH.pack(len(payload)) + payload


class FrameBuffer:
    """Splits a byte stream into frames' payloads (whatever arrived, however it was cut)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self.buf
        buf += data
        out: list[bytes] = []
        pos = 0
        while len(buf) - pos >= 4:
            (size,) = LENGTH.unpack_from(buf, pos)
            if size > MAX_FRAME:
                raise ValueError(f"gateway link frame of {size} bytes")
            if len(buf) - pos - 4 < size:
                break
            out.append(bytes(buf[pos + 4 : pos + 4 + size]))
            pos += 4 + size
        if pos:
            del buf[:pos]
        return out
