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
- Link loss (the sequencer stopped) ends an embedded gateway's process: it has nothing true to
  serve. An independent gateway (``rucksack gateway``, ``on_link_lost`` set) pauses instead
  (``detach``: requests in flight fail 503 ``TRADING_PAUSED``, unacknowledged: their commands were
  applied once or not at all; reads go on from the replica as it was) until ``gateway.discovery``
  links it to the writer the lease names and ``attach`` resyncs the replica from that writer's
  state transfer: kept as it is when the transfer is at the replica's own seq (the same state: the
  stream is one history), replaced otherwise (WebSocket clients are then disconnected, code 1012,
  to subscribe again: they missed events).
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
from rucksack.exchange.clock import ExchangeClock
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
    Role,
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
Link = tuple[asyncio.StreamReader, asyncio.StreamWriter, FrameBuffer, list[bytes]]
EXIT_LINK_LOST = 75


class GatewayService(ExchangeService):
    """The API's service in a gateway process (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        spec: ExchangeSpec,
        welcome: Welcome,
        link: Link,
        *,
        sandbox: bool = True,
        store: str | None = None,
        clock: Callable[[], int] = wall_clock_us,
    ) -> None:
        # no ExchangeService.__init__: a gateway has no journal and writes nothing
        # the wall clock: the sandbox's clock advance is proxied to the sequencer (ADMIN), whose
        # stamps reach this replica through the stream
        self.data_dir, self.spec, self.sandbox = data_dir, spec, sandbox
        self.clock = ExchangeClock(clock, sandbox=False)
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
        self.standby = welcome.standby  # a standby's warm gateway, or one without a writer: writes 503
        self.connected = True
        self.on_link_lost: Callable[[str], None] | None = None  # set: pause and reconnect, not exit
        self.on_resync: list[Callable[[], None]] = []  # the replica was replaced (the WebSocket hub)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(self._read_link())

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._writer.close()
        self.store.close()

    def detach(self, why: str) -> None:
        """The writer is gone (link closed, or the lease names another): pause writes, fail what is
        in flight (not acknowledged: applied once or not at all) and tell ``on_link_lost``."""
        if not self.connected:
            return
        self.connected, self.standby = False, True
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._writer.close()
        self._out.clear()
        paused = NotWriter(f"trading is paused while the gateway finds the writer ({why})")
        for future in [*self._requests.values(), *(f for _, f in self._awaiting)]:
            self._fail(future, paused)
        self._requests.clear()
        self._awaiting.clear()
        self._events.clear()
        log.warning("gateway paused: %s", why)
        if self.on_link_lost is not None:
            self.on_link_lost(why)

    def attach(self, welcome: Welcome, link: Link) -> None:
        """Serve from a (new) writer: resync the replica from its state transfer, then follow it."""
        if welcome.seq != self.engine.last_seq:
            log.warning("replica replaced: at seq %d, the writer's state at %d", self.engine.last_seq, welcome.seq)
            self.engine = restore(self.spec, decode_snapshot(welcome.snapshot))
            self.orders = OpenOrders(self.engine)
            for hook in self.on_resync:
                hook()
        self.sequencer = Sequencer(self.engine, None, self.clock)  # not halted: a new writer
        self._reader, self._writer, self._frames, self._early = link
        self._visible_seq, self.started_us, self.standby = welcome.seq, welcome.started_us, welcome.standby
        self.connected = True
        self._task = asyncio.ensure_future(self._read_link())

    def catch_up(self) -> None:  # the replica is always as far as the stream has come
        return None

    def release(self) -> None:
        return None

    async def ensure_custody(self) -> None:
        return None

    # ------------------------------------------------------------------ writes

    async def submit(self, command: Command) -> list[Event]:
        """Forward ``command`` to the sequencer; its events once every gateway has applied it."""
        if not self.connected:
            raise NotWriter("trading is paused while the gateway finds the writer")
        try:
            data = frame(Submit(self._req(), command))
        except (msgspec.EncodeError, OverflowError, TypeError) as exc:
            raise UnencodableCommand(f"command cannot be journaled: {exc}") from exc
        future = self._ask(data)
        events: list[Event] = await future
        return events

    async def sync(self) -> None:
        """Wait until this replica (and every other) has applied all the sequencer has applied now."""
        if not self.connected:
            raise NotWriter("trading is paused while the gateway finds the writer")
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
            why = "the sequencer closed the link"
        except asyncio.CancelledError:
            return
        except ConnectionError as exc:
            why = f"the link failed: {exc}"
        except BaseException:
            log.critical("gateway link or replica failed; the gateway stops", exc_info=True)
            logging.shutdown()
            os._exit(EXIT_LINK_LOST)
        if self.on_link_lost is not None:  # an independent gateway: pause until linked to the writer
            self.detach(why)
            return
        log.critical("%s; the gateway stops", why)
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
        elif isinstance(msg, Role):
            self.standby = msg.standby
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


async def open_link(path: str) -> tuple[Welcome, Link]:
    """Connect to the sequencer, say hello and receive the state transfer."""
    for attempt in range(100):  # the sequencer may still be starting its link
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=READ_SIZE)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if attempt == 99:
                raise
            await asyncio.sleep(0.1)
    return await handshake(reader, writer)


async def handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[Welcome, Link]:
    """Say hello on a connected link and receive the state transfer."""
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
