"""The sequencer's end of the gateway link: sequence gateways' commands, stream what is released.

Runs in the sequencer process's event loop (the single writer's thread), so each step below is
atomic with respect to the engine:

- ``Hello``: the journal is made durable and everything applied is released (``catch_up``), then
  the engine is captured (``take_snapshot``) at that seq and sent as ``Welcome``; from then on the
  gateway receives every ``Released`` batch. Its replica starts exactly where the stream resumes.
- ``Submit``: the command is sequenced, journaled and applied (``submit_nowait``) and answered at
  once with its seq (``Accepted``) or why it was refused (``Refused``: halted, a standby that is
  not the writer yet, unencodable); its group commit is scheduled as for any command.
- after each release (the read models already hold it) the stamped commands go to every gateway
  (on a hot standby: the commands it follows from the replicated journal, released the same way)
  in one ``Released`` frame; each gateway answers ``Applied`` once its replica has applied them
  (unless the frame said it was the only gateway: then its ``applied`` here stays behind, which
  only holds ``Visible`` back until its next ``Applied``, sent once there are others).
- ``Visible``: the lowest seq every connected gateway has applied. A gateway answers a write only
  once ``Visible`` covers it, so whichever gateway a client reaches next has already applied it
  (read-your-writes across gateways). A gateway that disconnects leaves the minimum at once.

A gateway that stops reading (``MAX_BUFFER`` bytes unsent) is disconnected; its supervisor
restarts it, and the new process starts from a fresh ``Welcome``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import msgspec

from rucksack.exchange.core.commands import Stamped
from rucksack.exchange.core.state import encode_snapshot, take_snapshot
from rucksack.exchange.gateway.protocol import (
    Accepted,
    Applied,
    FrameBuffer,
    Hello,
    Refused,
    Released,
    Role,
    Submit,
    Sync,
    Synced,
    ToSequencer,
    Visible,
    Welcome,
    frame,
    to_sequencer,
)
from rucksack.exchange.sequencer.datadir import CONFIG_NAME
from rucksack.exchange.sequencer.sequencer import NotWriter, SequencerHalted, UnencodableCommand
from rucksack.exchange.service import ExchangeService

log = logging.getLogger("rucksack.gateway.link")
MAX_BUFFER = 256 * 1024 * 1024
READ_SIZE = 1 << 18


class Peer:
    """One connected gateway: its outgoing frames (written once per loop turn) and its replica's seq."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.out: list[bytes] = []
        self.applied = -1  # -1 until welcomed
        self.pid = 0

    def send(self, data: bytes) -> None:
        if not self.out:
            asyncio.get_running_loop().call_soon(self.flush)
        self.out.append(data)

    def flush(self) -> None:
        if not self.out or self.writer.is_closing():
            self.out.clear()
            return
        self.writer.write(b"".join(self.out))
        self.out.clear()
        if self.writer.transport.get_write_buffer_size() > MAX_BUFFER:
            log.error("gateway %d stopped reading the link; disconnecting it", self.pid)
            self.writer.close()


class GatewayLink:
    def __init__(self, service: ExchangeService, path: Path, tcp: socket.socket | None = None) -> None:
        self.service = service
        self.path = path
        self.tcp = tcp  # ``serve --link``: independent gateways connect here (bound, listening)
        self.peers: list[Peer] = []
        self.visible = 0
        service.broadcast = self._broadcast

    async def serve(self) -> None:
        """Accept gateways on the Unix socket (and the TCP one, if any) until cancelled."""
        self.path.unlink(missing_ok=True)
        servers = [await asyncio.start_unix_server(self._peer, path=str(self.path), limit=READ_SIZE)]
        if self.tcp is not None:
            servers.append(await asyncio.start_server(self._peer, sock=self.tcp, limit=READ_SIZE))
        try:
            await asyncio.Future()
        finally:  # connected gateways keep their link until they exit (the supervisor stops them)
            for server in servers:
                server.close()

    def lead(self) -> None:
        """The hot standby took over: tell every gateway that writes are accepted now."""
        for peer in self.peers:
            peer.send(frame(Role(False)))

    async def _peer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(writer)
        frames = FrameBuffer()
        try:
            while data := await reader.read(READ_SIZE):
                for payload in frames.feed(data):
                    self._handle(peer, to_sequencer.decode(payload))
        except (ConnectionError, ValueError, msgspec.DecodeError) as exc:
            log.error("gateway %d link failed: %s", peer.pid, exc)
        finally:
            if peer in self.peers:
                self.peers.remove(peer)
            writer.close()
            self._advance()
            log.info("gateway %d disconnected", peer.pid)

    def _handle(self, peer: Peer, msg: ToSequencer) -> None:
        if isinstance(msg, Submit):
            try:
                seq, _ = self.service.submit_nowait(msg.command)
            except NotWriter as exc:  # a standby's warm gateways: refused until the takeover
                peer.send(frame(Refused(msg.req, "standby", str(exc))))
            except SequencerHalted as exc:
                peer.send(frame(Refused(msg.req, "halted", str(exc))))
            except UnencodableCommand as exc:
                peer.send(frame(Refused(msg.req, "unencodable", str(exc))))
            else:
                peer.send(frame(Accepted(msg.req, seq)))
        elif isinstance(msg, Applied):
            if msg.seq > peer.applied:
                peer.applied = msg.seq
                self._advance()
        elif isinstance(msg, Sync):
            peer.send(frame(Synced(msg.req, self.service.engine.last_seq)))
        elif isinstance(msg, Hello):
            self._welcome(peer, msg.pid)

    def _welcome(self, peer: Peer, pid: int) -> None:
        service = self.service
        service.catch_up()  # everything applied is durable and released: the stream resumes after it
        seq = service.engine.last_seq
        snapshot = encode_snapshot(take_snapshot(service.engine))
        peer.pid, peer.applied = pid, seq
        config = (service.data_dir / CONFIG_NAME).read_text(encoding="utf-8")
        peer.send(frame(Welcome(seq, snapshot, service.started_us, config, service.standby)))
        self.peers.append(peer)
        log.info("gateway %d joined at seq %d (%d bytes of state)", pid, seq, len(snapshot))

    def _broadcast(self, entries: list[Stamped]) -> None:
        if self.peers:
            data = frame(Released(entries, len(self.peers)))
            for peer in self.peers:
                peer.send(data)
        else:  # no gateway to wait for: visible as soon as released
            self.visible = entries[-1].seq

    def _advance(self) -> None:
        if not self.peers:
            return
        low = min(p.applied for p in self.peers)
        if low > self.visible:
            self.visible = low
            data = frame(Visible(low))
            for peer in self.peers:
                peer.send(data)
