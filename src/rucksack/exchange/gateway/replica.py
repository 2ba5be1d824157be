"""A gateway's exchange: a replica engine fed by the sequencer's released stream.

``GatewayService`` is what the API (``exchange.api``) is handed in a gateway process, in place of
the sequencer's ``ExchangeService``: reads go to the replica engine (through ``core.queries``, as
everywhere), the open-orders model and the WebSocket hub listen to the replica, histories come from
the read models opened read-only, and ``submit`` forwards the command to the sequencer.

Invariants:

- The replica starts from the sequencer's ``Welcome`` snapshot and applies ``Released`` commands
  in seq order with the seq and timestamp the journal holds, so it reaches the same state and
  emits the same events as the sequencer's engine did (the core is deterministic). If the replica
  ever raises, it is no longer trustworthy: the process exits and its supervisor starts a fresh
  one from a new state transfer.
- ``submit`` returns the command's events only once every connected gateway has applied it
  (``Visible``): durable, projected into the read models, and visible whichever gateway the
  client asks next. A gateway that dies before that never acknowledged the command; the
  sequencer may still have sequenced it (applied once) or not (not at all).
- Link loss (the sequencer stopped) ends the gateway process: it has nothing true to serve.
- Behind a hot standby (``serve --standby --gateways N``) the gateway is warm: its replica follows
  what the standby follows, reads are served, writes are refused (``NotWriter``: 503) until the
  standby takes over; from then on the same link carries the new writer's commands.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from rucksack.exchange.api.auth import Verifier
from rucksack.exchange.api.open_orders import OpenOrders, Steps
from rucksack.exchange.api.wire import Wire
from rucksack.exchange.core.commands import Command
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.state import decode_snapshot, restore
from rucksack.exchange.gateway.protocol import (
    Accepted,
    Applied,
    FrameBuffer,
    Hello,
    Refused,
    Released,
    Submit,
    Sync,
    Synced,
    ToGateway,
    Visible,
    Welcome,
    frame,
    to_gateway,
)
from rucksack.exchange.sequencer.sequencer import NotWriter, Sequencer, SequencerHalted, UnencodableCommand
from rucksack.exchange.service import ExchangeService, admin_token_path, wall_clock_us
from rucksack.exchange.store import open_read_models

log = logging.getLogger("rucksack.gateway")
READ_SIZE = 1 << 18
EXIT_LINK_LOST = 75


class GatewayService(ExchangeService):
    """The API's service in a gateway process (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        spec: ExchangeSpec,
        welcome: Welcome,
        link: tuple[asyncio.StreamReader, asyncio.StreamWriter, FrameBuffer, list[bytes]],
        *,
        sandbox: bool = True,
        store: str | None = None,
        clock: Callable[[], int] = wall_clock_us,
    ) -> None:
        # no ExchangeService.__init__: a gateway has no journal and writes nothing
        self.data_dir, self.spec, self.sandbox, self.clock = data_dir, spec, sandbox, clock
        self.store = open_read_models(store, data_dir)  # type: ignore[assignment]  # reads only
        self.engine = restore(spec, decode_snapshot(welcome.snapshot))
        self.sequencer = Sequencer(self.engine, None, clock)  # never submits: its seq and halted state
        self.wire = Wire(spec)
        self.verifier = Verifier()
        self.started_us = welcome.started_us
        self.listeners: list[Callable[[int, int, list[Event], list[Steps]], None]] = []
        self.orders = OpenOrders(self.engine)
        self.openapi = b"{}"
        token = admin_token_path(data_dir)
        self.admin_token = token.read_text(encoding="utf-8").strip() if sandbox and token.exists() else None
        self.feed = None
        self.custody = None
        self._custody_tried = True  # custody lives in the sequencer process (its routes are proxied)
        self.accounts_lock = asyncio.Lock()
        self.broadcast = None
        self._reader, self._writer, self._frames, self._early = link
        self._out: list[bytes] = []
        self._next_req = 0
        self._requests: dict[int, asyncio.Future[Any]] = {}
        self._awaiting: deque[tuple[int, asyncio.Future[Any]]] = deque()
        self._events: dict[int, list[Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._visible_seq = welcome.seq

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(self._read_link())

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._writer.close()
        self.store.close()

    def catch_up(self) -> None:  # the replica is always as far as the stream has come
        return None

    def release(self) -> None:
        return None

    async def ensure_custody(self) -> None:
        return None

    # ------------------------------------------------------------------ writes

    async def submit(self, command: Command) -> list[Event]:
        """Forward ``command`` to the sequencer; its events once every gateway has applied it."""
        try:
            data = frame(Submit(self._req(), command))
        except (msgspec.EncodeError, OverflowError, TypeError) as exc:
            raise UnencodableCommand(f"command cannot be journaled: {exc}") from exc
        future = self._ask(data)
        events: list[Event] = await future
        return events

    async def sync(self) -> None:
        """Wait until this replica (and every other) has applied all the sequencer has applied now."""
        await self._ask(frame(Sync(self._req())))

    def _req(self) -> int:
        self._next_req += 1
        return self._next_req

    def _ask(self, data: bytes) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._requests[self._next_req] = future
        self._send(data)
        return future

    def _send(self, data: bytes) -> None:
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(data)

    def _flush(self) -> None:
        if self._out and not self._writer.is_closing():
            self._writer.write(b"".join(self._out))
        self._out.clear()

    # ------------------------------------------------------------------ the stream

    async def _read_link(self) -> None:
        try:
            for payload in self._early:
                self._handle(to_gateway.decode(payload))
            self._early = []
            while data := await self._reader.read(READ_SIZE):
                for payload in self._frames.feed(data):
                    self._handle(to_gateway.decode(payload))
            log.critical("the sequencer closed the link; the gateway stops")
        except asyncio.CancelledError:
            return
        except BaseException:
            log.critical("gateway link or replica failed; the gateway stops", exc_info=True)
        logging.shutdown()
        os._exit(EXIT_LINK_LOST)

    def _handle(self, msg: ToGateway) -> None:
        if isinstance(msg, Released):
            self._apply(msg)
        elif isinstance(msg, Visible):
            self._visible(msg.seq)
        elif isinstance(msg, Accepted):
            self._awaiting.append((msg.seq, self._requests.pop(msg.req)))
        elif isinstance(msg, Synced):
            future = self._requests.pop(msg.req)
            if msg.seq <= self._visible_seq:
                self._resolve(future, None)
            else:  # resolved with the Visible that covers it (seqs awaited only grow: FIFO link)
                self._awaiting.append((msg.seq, future))
        elif isinstance(msg, Refused):
            exc_type = {"halted": SequencerHalted, "standby": NotWriter}.get(msg.kind, UnencodableCommand)
            if msg.kind == "halted":  # for good (a standby's refusal ends when it takes over)
                self.sequencer.halt(SequencerHalted(msg.message))
            self._fail(self._requests.pop(msg.req), exc_type(msg.message))

    def _apply(self, msg: Released) -> None:
        engine, awaiting = self.engine, self._awaiting
        waited = {seq for seq, _ in awaiting} if awaiting else set()
        for entry in msg.entries:
            seq = entry.seq
            events = engine.apply(entry.command, seq, entry.ts_us)  # raises only on a divergence: exit
            self.sequencer.seq = seq
            steps = self.orders.apply(events)
            for listener in self.listeners:
                try:
                    listener(seq, entry.ts_us, events, steps)
                except Exception:  # as in the sequencer: the others still hear of it
                    log.critical("listener %r failed on command %d", listener, seq, exc_info=True)
            if seq in waited:
                self._events[seq] = events
        if msg.peers == 1:  # the only gateway: applied here is applied everywhere (no Applied/Visible trip)
            self._visible(engine.last_seq)
        else:
            self._send(frame(Applied(engine.last_seq)))

    def _visible(self, seq: int) -> None:
        seq = self._visible_seq = max(seq, self._visible_seq)
        awaiting = self._awaiting
        while awaiting and awaiting[0][0] <= seq:
            done, future = awaiting.popleft()
            self._resolve(future, self._events.pop(done, None))

    @staticmethod
    def _resolve(future: asyncio.Future[Any], value: Any) -> None:
        if not future.done():
            future.set_result(value)

    @staticmethod
    def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
        if not future.done():
            future.set_exception(exc)


async def open_link(
    path: str,
) -> tuple[Welcome, tuple[asyncio.StreamReader, asyncio.StreamWriter, FrameBuffer, list[bytes]]]:
    """Connect to the sequencer, say hello and receive the state transfer."""
    for attempt in range(100):  # the sequencer may still be starting its link
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=READ_SIZE)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if attempt == 99:
                raise
            await asyncio.sleep(0.1)
    writer.write(frame(Hello(os.getpid())))
    frames = FrameBuffer()
    while True:
        data = await reader.read(READ_SIZE)
        if not data:
            raise ConnectionError("the sequencer closed the link before the state transfer")
        payloads = frames.feed(data)
        if payloads:
            first = to_gateway.decode(payloads[0])
            if not isinstance(first, Welcome):
                raise ConnectionError(f"expected the state transfer, got {type(first).__name__}")
            return first, (reader, writer, frames, payloads[1:])
