"""The replicated journal: groups of stamped commands as JetStream messages, appended with fencing.

A **group** message's payload is the group's journal records exactly as the local journal frames
them (``<u32 length><u32 crc32><MessagePack Stamped>`` each), with headers ``Rk-First`` and
``Rk-Last`` (its first and last command seq), ``Rk-Writer`` (the writer's id) and ``Rk-Epoch``
(the writer's lease revision). A **marker** message has an empty payload: a new writer's first
append, saying "from here on, epoch E writes".

Fencing. Every append carries ``Nats-Expected-Last-Sequence``: the stream sequence of the last
message this writer knows of. The stream refuses an append when anything else was appended in
between, so two writers can never interleave: a new writer appends its marker only after it has
read (and applied) everything before it, and from then on every append of the deposed writer is
refused, whatever the deposed writer believes about its lease. A refused append whose message is
nonetheless ours (the ack was lost and the retry found it: same writer, same ``Rk-Last``) counts
as appended; ``Nats-Msg-Id`` also de-duplicates such retries. Any other refusal raises
:class:`Fenced`, and the writer stops.

Durability policy: the local journal's group commit calls :meth:`StreamWriter.append_group`
after its own fdatasync, and advances ``durable_seq`` (which acknowledges the commands) only when
this returns, i.e. when the stream's leader reports the group stored on a quorum (2 of 3) of
replicas. Transient failures (a node restarting, a leader election) are retried until the
writer's lease would have lapsed; then the writer is fenced.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout

import msgspec
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import APIError, NoStreamResponseError

from rucksack.exchange.core.commands import Stamped
from rucksack.exchange.replica.link import STREAM, SUBJECT, NatsLink
from rucksack.exchange.sequencer.journal import HEADER, record_checksum

log = logging.getLogger(__name__)

_decoder = msgspec.msgpack.Decoder(Stamped)
WRONG_LAST_SEQUENCE = 10071
POSITIONS = 1_000_000  # messages remembered for snapshot positions (a few snapshot intervals)
TRANSIENT = (NatsTimeout, FutureTimeout, TimeoutError, NoRespondersError, NoStreamResponseError, ConnectionClosedError)


class Fenced(RuntimeError):
    """This writer may no longer append: another writer took over, or the lease lapsed."""


def decode_group(data: bytes) -> list[Stamped]:
    """The stamped commands of a group message (checksums verified; ValueError on damage)."""
    entries = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < HEADER.size:
            raise ValueError(f"group message torn at byte {offset}")
        length, crc, epoch = HEADER.unpack_from(data, offset)  # the local journal's records, as written
        payload = data[offset + HEADER.size : offset + HEADER.size + length]
        if len(payload) != length or record_checksum(payload, epoch) != crc:
            raise ValueError(f"group message record at byte {offset} fails its checksum")
        entries.append(_decoder.decode(payload))
        offset += HEADER.size + length
    return entries


def header_int(headers: dict[str, str] | None, name: str, default: int = 0) -> int:
    value = (headers or {}).get(name)
    return int(value) if value is not None else default


class StreamWriter:
    """The local journal's :class:`~rucksack.exchange.sequencer.journal.Replica`: appends each group.

    While ``following`` (a standby applying the stream into its own journal) it appends nothing.
    :meth:`take_over` makes it the writer: it appends the marker after ``stream_last``."""

    def __init__(
        self,
        link: NatsLink,
        writer_id: str,
        lease_valid: Callable[[], bool],
        on_fenced: Callable[[str], None],
    ) -> None:
        self.link = link
        self.writer_id = writer_id
        self.lease_valid = lease_valid
        self.on_fenced = on_fenced
        self.following = True
        self.stream_last = 0  # stream sequence of the last message known (applied or appended)
        self.epoch = 0
        self.appended = 0  # groups appended by this writer
        # (last command seq, stream seq) of recent messages: where a snapshot's reader continues
        self.groups: deque[tuple[int, int]] = deque(maxlen=POSITIONS)

    def take_over(self, stream_last: int, epoch: int) -> None:
        """Append this writer's marker right after ``stream_last``; :class:`Fenced` if anything
        else is there (the caller reads on and tries again)."""
        self.epoch = epoch
        self.stream_last = stream_last
        headers = {"Rk-Writer": self.writer_id, "Rk-Epoch": str(epoch)}
        self.stream_last = self._publish(b"", headers, f"{self.writer_id}-marker")
        self.following = False
        if self.groups:
            self.groups.append((self.groups[-1][0], self.stream_last))

    def append_group(self, records: list[bytes], last_seq: int) -> None:
        if self.following:
            return
        first = last_seq - len(records) + 1
        headers = {"Rk-First": str(first), "Rk-Last": str(last_seq), "Rk-Writer": self.writer_id}
        headers["Rk-Epoch"] = str(self.epoch)
        try:
            self.stream_last = self._publish(b"".join(records), headers, f"{self.writer_id}-{last_seq}")
        except Fenced as exc:
            self.on_fenced(str(exc))
            raise
        self.appended += 1
        self.groups.append((last_seq, self.stream_last))

    def _publish(self, payload: bytes, headers: dict[str, str], msg_id: str) -> int:
        """Append after ``stream_last``; return the new stream sequence."""
        headers = {**headers, "Nats-Expected-Last-Sequence": str(self.stream_last), "Nats-Msg-Id": msg_id}
        while True:
            if not self.lease_valid():
                raise Fenced("the writer lease lapsed before the group was replicated")
            try:
                ack = self.link.call(self.link.js.publish(SUBJECT, payload, timeout=1.0, headers=headers), 2.0)
                return int(ack.seq)
            except APIError as exc:
                if exc.err_code != WRONG_LAST_SEQUENCE:
                    log.warning("journal append refused (%s); retrying", exc)
                    time.sleep(0.05)
                    continue
                if self._is_ours(self.stream_last + 1, headers):
                    return self.stream_last + 1
                raise Fenced(f"another writer appended after stream sequence {self.stream_last}") from exc
            except TRANSIENT:
                time.sleep(0.05)

    def _is_ours(self, stream_seq: int, headers: dict[str, str]) -> bool:
        try:
            msg = self.link.call(self.link.js.get_msg(STREAM, stream_seq), 2.0)
        except Exception:  # cannot tell: treat as not ours (fenced is the safe side)
            return False
        found = msg.headers or {}
        return found.get("Rk-Writer") == headers["Rk-Writer"] and found.get("Rk-Last") == headers.get("Rk-Last")


__all__ = ["Fenced", "StreamWriter", "decode_group", "header_int"]
