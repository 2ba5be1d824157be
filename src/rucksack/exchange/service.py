"""The composition root: one sequencer, awaited durability, read models, and what hangs off them.

``ExchangeService`` wires the exchange together -- the data directory's ``Exchange`` (journal,
snapshots, engine), the read store, the open-orders read model, the wire formats and the request
verifier -- and is what the adapters are handed: the HTTP/WebSocket API (``exchange.api``) uses it
whole; custody, the demo makers, the index-price publisher, the scheduler and the reserves export
each declare the narrow protocol they need and receive it (``ExchangeLedger`` below is custody's).
``rucksack.exchange.server`` builds one per process and starts the adapters around it.

``submit`` runs in the event-loop thread: it sequences, journals and applies a command at once
(microseconds) and then awaits the group commit that covers it; the journal's flusher thread
wakes the loop, which releases every durable command's events to the read store (projected in
memory, then committed as one batch per released group: ``store.protocol.Store``), to the
open-orders read model (``open_orders.OpenOrders``, once per command) and then to the listeners
(the WebSocket hub, with that model's per-event steps), then resolves the waiting requests in order
-- each once the store's ``visible_seq`` covers it too, so a client reads its own writes (an
order's fills are in its history when the order's response is sent). SQLite's batch is visible
when ``commit`` returns; PostgreSQL's writer thread writes it meanwhile and wakes the loop
(``on_visible``), so the loop never waits on a database round trip and keeps sequencing.

A read-model projection that raises, or a batch that fails to write, halts writes rather than
skipping events: the store drops its open batch and writes nothing more (``Store.abandon``,
``Store.failed``), the sequencer accepts no further command (the API answers 503 and
``/api/v1/status`` says ``Maintenance``), waiting requests are answered by durability alone, and
the open-orders model and the WebSocket hub still receive that command's events and every later
durable one's. The next start projects from the journal again (from the store's ``last_seq``); a
projection that fails there stops the start with an error naming the sequence number (the journal
itself is intact either way).

Periodic snapshots (``snapshot_every`` commands): after a release that leaves every command
durable, the state is captured in the event-loop thread -- the single writer, between two
commands, so the capture is consistent -- and encoded, hashed and written by a worker thread,
one at a time; a failed write is logged and the next one is due ``snapshot_every`` commands
later (the journal holds everything meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rucksack.exchange import metrics
from rucksack.exchange.api.auth import Verifier
from rucksack.exchange.api.open_orders import OpenOrders, Steps
from rucksack.exchange.api.wire import Wire
from rucksack.exchange.checkpoints import (
    CHECKPOINT_EVERY,
    HOUR_US,
    Checkpointer,
    CheckpointUnavailable,
    Cut,
    chain_key,
    sync_checkpointer,
)
from rucksack.exchange.clock import ExchangeClock
from rucksack.exchange.config import default_config_text
from rucksack.exchange.core import queries
from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.commands import Command, Deposit, PublishCheckpoint, Stamped
from rucksack.exchange.core.events import Deposited, Event
from rucksack.exchange.core.state import Snapshot
from rucksack.exchange.feeds import PriceFeed
from rucksack.exchange.nft_perk import NftPerk
from rucksack.exchange.sequencer.datadir import (
    CONFIG_NAME,
    DEFAULT_SNAPSHOT_EVERY,
    Exchange,
    init_data_dir,
    journal_base,
    read_spec,
)
from rucksack.exchange.sequencer.sequencer import NotWriter
from rucksack.exchange.sequencer.writer_lock import WriterLock
from rucksack.exchange.store import READ_DB_NAME, Store, StoreUnavailable, is_shared, open_store

if TYPE_CHECKING:
    from rucksack.exchange.custody.service import Custody
    from rucksack.exchange.surveillance.live import LiveSurveillance

log = logging.getLogger(__name__)

ADMIN_TOKEN_NAME = "admin.token"
RECOVERY_BATCH = 1000  # commands per read-store batch while catching up at start-up
__all__ = ["READ_DB_NAME", "ExchangeLedger", "ExchangeService", "ReadModelFailed"]


def wall_clock_us() -> int:
    return time.time_ns() // 1000


def admin_token_path(data_dir: Path) -> Path:
    return data_dir / ADMIN_TOKEN_NAME


class ReadModelFailed(RuntimeError):
    """Projecting a durable command into the read models raised; writes halt until a restart."""

    def __init__(self, seq: int, exc: BaseException) -> None:
        super().__init__(
            f"read model projection failed at command {seq} ({type(exc).__name__}: {exc}); "
            "writes are halted, the journal is intact, a restart projects from it again"
        )
        self.seq = seq


class ExchangeService:
    def __init__(
        self,
        data_dir: Path,
        *,
        sandbox: bool = True,
        clock: Callable[[], int] = wall_clock_us,
        fsync: bool = True,
        inline_commit: bool = True,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        store: str | None = None,
        follower: bool = False,
    ) -> None:
        if (data_dir / CONFIG_NAME).exists():
            spec = read_spec(data_dir)
        else:  # a new data dir starts from the shipped config
            spec = init_data_dir(data_dir, default_config_text())
        self.data_dir = data_dir
        self.sandbox = sandbox
        # the sequencer's and the scheduler's clock: a sandbox can advance it (exchange.clock)
        self.clock = ExchangeClock(clock, sandbox=sandbox)
        self.inline_commit = inline_commit
        lock = WriterLock.acquire(data_dir)  # one writer: before the read store is touched
        try:
            # None: SQLite in the data dir; a hot standby (``follower``) shares a PostgreSQL store
            # with the writer and writes it only once it has taken over (``lead``)
            self.store: Store = open_store(store, data_dir, spec, follower=follower)
        except BaseException:
            lock.release()
            raise
        # a standby seeded from a replicated snapshot projects after it: a shared store behind the
        # snapshot would miss the commands between (rare: the writer writes within milliseconds)
        if follower and is_shared(store) and self.store.last_seq < journal_base(data_dir):
            self.store.close()
            lock.release()
            raise StoreUnavailable(
                f"the shared read store is at command {self.store.last_seq}, behind the replicated snapshot this "
                f"standby starts from ({journal_base(data_dir)}); start it again once the writer has projected it"
            )
        try:
            self.exchange = Exchange(
                data_dir,
                self.clock,
                spec=spec,
                fsync=fsync,
                threaded_journal=not inline_commit,
                # a standby seeded from a replicated snapshot projects from there (docs/deploy.md)
                events_after=max(self.store.last_seq, journal_base(data_dir)),
                on_events=self._project_recovered,
                snapshot_every=snapshot_every,
                lock=lock,
            )
        except BaseException as exc:  # nothing half-projected is written; the store's connections close
            self.store.abandon(exc)
            self.store.close()
            lock.release()
            raise
        self._snapshot_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot")
        # the public chain of commitments (exchange.checkpoints): records filed from the journal,
        # the segment in progress brought up to the engine's seq by a replay from a snapshot
        self.checkpointer = Checkpointer(data_dir, spec)
        sync_checkpointer(self.checkpointer, data_dir, self.exchange.engine.last_seq)
        self._cut_pending = False
        self._snapshot_job: Future[None] | None = None
        self._closing = False
        self._flush_scheduled = False
        self.store.commit()
        self.store.wait_visible()
        if self.store.failed is not None:
            raise ReadModelFailed(self.store.failed_seq, self.store.failed)
        # it would skip this venue's commands; a standby's shared store is ahead of it until it has
        # followed the stream (the writer's projection), which it does before it can take over
        if self.store.last_seq > self.exchange.engine.last_seq and not follower:
            self.exchange.close()
            self.store.close()
            raise StoreUnavailable(
                f"the read store is at command {self.store.last_seq} but this data directory's journal ends at "
                f"{self.exchange.engine.last_seq}: it holds another venue's (or a lost journal's) read models; "
                "point --store at an empty database or drop its tables to rebuild them from this journal"
            )
        self.spec = self.exchange.spec
        self.engine = self.exchange.engine
        self.clock.catch_up(self.engine.last_ts_us)
        self.sequencer = self.exchange.sequencer
        self.wire = Wire(self.spec)
        self.verifier = Verifier()
        self.started_us = clock()
        # called after each released command with its events and the open-orders steps of each
        self.listeners: list[Callable[[int, int, list[Event], list[Steps]], None]] = []
        self.sequencer.listeners.append(self._on_released)
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        # metrics (rucksack.exchange.metrics): group commits, queue depth; commands and events below
        self.exchange.journal.on_group = metrics.journal_group
        metrics.watch_queue_depth(self._waiters.__len__)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.admin_token = self._admin_token() if sandbox else None
        # the operator's ED25519 public key (base64; ``serve --operator-key``): signs operator actions
        self.operator_key: str | None = None
        # the NFT VIP perk's collection and chain node (``serve --nft-vip``; exchange.nft_perk)
        self.nft_perk: NftPerk | None = None
        self.feed: PriceFeed | None = None
        # market surveillance (exchange.surveillance.live), attached by ``rucksack serve``
        self.surveillance: LiveSurveillance | None = None
        self.orders = OpenOrders(self.engine)  # seeded from the engine, then fed released events
        self.openapi = b"{}"
        # chain custody: started by ``serve --chain-rpc`` (watchers, sweeps, withdrawals) or made on
        # first use for deposit addresses only (``ensure_custody``); None when neither has happened
        self.custody: Custody | None = None
        self._custody_tried = False
        self._custody_lock = asyncio.Lock()  # the first use makes custody once, in a worker thread
        # account creation checks then awaits (key free? subaccount count under the cap?): one at a
        # time, so concurrent requests cannot all pass the check and leave keyless accounts behind
        self.accounts_lock = asyncio.Lock()
        # the gateway link (``serve --gateways N``, exchange.gateway.link): called after each release
        # with the released commands as journaled, once the read models hold them
        self.broadcast: Callable[[list[Stamped]], None] | None = None
        self._unreleased: deque[Stamped] = deque()
        self._released_seq = self.engine.last_seq
        # a hot standby serving through warm gateways (``serve --standby --gateways N``): it follows
        # the replicated journal and refuses every command (NotWriter) until it has taken over
        self.standby = False
        # called when a gateway's replica is replaced by a new writer's state (gateway.replica);
        # never here: the sequencer's engine is the record
        self.on_resync: list[Callable[[], None]] = []
        self.after_close: list[Callable[[], None]] = []  # run once the journal is closed (``close``)

    def _admin_token(self) -> str:
        path = admin_token_path(self.data_dir)
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        token = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token + "\n")
        return token

    def start(self) -> None:
        """Bind to the running event loop (call from inside it)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        if not self.inline_commit:

            def wake(seq: int) -> None:  # runs in the journal's flusher thread
                loop.call_soon_threadsafe(self.release)

            self.exchange.journal.on_durable = wake

        # a store that writes in its own thread (PostgreSQL) wakes the loop when a batch is visible
        def visible() -> None:  # runs in the store's thread
            with contextlib.suppress(RuntimeError):  # the loop closed at shutdown: nobody waits
                loop.call_soon_threadsafe(self._resolve_waiters)

        self.store.on_visible = visible

    async def submit(self, command: Command) -> list[Event]:
        """Apply ``command``; return its events once the journal holds it durably."""
        seq, events = self.submit_nowait(command)
        assert self._loop is not None, "service not started"
        future: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append((seq, future))
        await future
        return events

    def submit_nowait(self, command: Command) -> tuple[int, list[Event]]:
        """Sequence, journal and apply ``command`` and schedule its group commit; return its seq
        and events at once (not yet durable: nobody may be told of them before its release)."""
        if self.standby:
            raise NotWriter("this server is a hot standby; it accepts commands once it takes over as the writer")
        started = time.perf_counter()
        seq, events = self.sequencer.submit(command)
        metrics.command_applied(command, time.perf_counter() - started)
        self.checkpointer.applied(Stamped(seq, self.engine.last_ts_us, command), events)
        if self.broadcast is not None:
            self._unreleased.append(Stamped(seq, self.engine.last_ts_us, command))
        if self.inline_commit and not self._flush_scheduled:
            assert self._loop is not None, "service not started"
            self._flush_scheduled = True
            self._loop.call_soon(self._flush_inline)
        return seq, events

    def follow(self, entry: Stamped) -> None:
        """Journal and apply a command the replicated journal's writer stamped (a standby
        following it); released like a submitted one, so linked gateways apply it too."""
        events = self.sequencer.follow(entry)
        self.checkpointer.applied(entry, events)
        if self.broadcast is not None:
            self._unreleased.append(entry)

    def lead(self) -> None:
        """This hot standby took over as the writer: its read store writes what the old writer had
        not written (a shared PostgreSQL store), then it accepts commands."""
        self.store.lead()
        self.standby = False

    def _flush_inline(self) -> None:
        """One group commit from the event loop: everything submitted since the last one."""
        self._flush_scheduled = False
        self.exchange.journal.flush()
        self.release()

    def release(self) -> None:
        """Publish every durable command now: read models, listeners, then the requests waiting on them."""
        self.sequencer.release()
        self.store.commit()  # the linked gateways hear of it once the store shows it (_resolve_waiters)
        idle = self._snapshot_job is None or self._snapshot_job.done()
        # a checkpoint (with its snapshot) at every periodic snapshot, and whenever the segment in
        # progress holds CHECKPOINT_EVERY commands (its commands and events are kept until then)
        if idle and not self._closing:
            due = self.exchange.snapshot_due()
            if due or len(self.checkpointer.pending) >= CHECKPOINT_EVERY:
                started = time.perf_counter()
                cut = self.cut_checkpoint()  # None when this node cannot cut one now
                if cut is not None or due:
                    snap = cut.snapshot if cut is not None else self.exchange.capture_periodic()  # the loop pauses
                    paused = time.perf_counter() - started
                    self._snapshot_job = self._snapshot_writer.submit(self._write_snapshot, snap, paused, cut)
        self._resolve_waiters()

    def _broadcast(self) -> None:
        """Send the linked gateways every released command the read store shows (a gateway answers
        its client once its replica applied the command: the history must already hold it). With
        PostgreSQL that is when the batch's transaction committed, so this runs again on each
        ``visible_seq`` advance; once the store failed, durability alone (writes are halted)."""
        if self.broadcast is None or not self._unreleased:
            return
        upto = self._released_seq
        if self.store.failed is None:
            upto = min(upto, self.store.visible_seq)
        released: list[Stamped] = []
        unreleased = self._unreleased
        while unreleased and unreleased[0].seq <= upto:
            released.append(unreleased.popleft())
        if released:
            self.broadcast(released)

    def _resolve_waiters(self) -> None:
        """Answer every request whose command is durable and visible in the read store (durable
        only, once the store has failed: writes are halted then, and the journal holds it all)."""
        store = self.store
        reached = self.sequencer.durable_seq
        if store.failed is None:
            reached = min(reached, store.visible_seq)
        elif self.sequencer.halted is None:  # a batch failed to write in the store's own thread
            failure = ReadModelFailed(store.failed_seq, store.failed)
            log.critical("%s", failure, exc_info=store.failed)
            self.sequencer.halt(failure)
        self._broadcast()
        waiters = self._waiters
        while waiters and waiters[0][0] <= reached:
            _, future = waiters.popleft()
            if not future.done():
                future.set_result(None)

    def catch_up(self) -> None:
        """Wait until the journal holds every applied command durably, then release them all (read
        models and listeners): a cut taken now is durable and projected. Blocks the loop on the
        group commit; for rare cuts such as a reserves snapshot."""
        self.exchange.journal.wait_durable(self.engine.last_seq)
        self.release()
        self.store.wait_visible()
        self._broadcast()  # a gateway joining now starts after every command sent to the others

    def _write_snapshot(self, snap: Snapshot, paused: float, cut: Cut | None = None) -> None:
        """Encode, hash and write a captured snapshot (in the snapshot thread); with a checkpoint
        cut at it, sign the record and hand it to the loop to journal."""
        started = time.perf_counter()
        try:
            _, digest = self.exchange.save(snap)
        except Exception:
            log.exception(
                "periodic snapshot at %d failed; the journal still holds everything", snap.seq, extra={"seq": snap.seq}
            )
            self._cut_pending = False
            return
        if cut is not None:
            command = self._seal(cut, digest, None)
            if command is not None and self._loop is not None:
                self._loop.call_soon_threadsafe(self._publish_record, command)
        written = time.perf_counter() - started
        log.info(
            "snapshot at %d: captured in %.3f s (loop paused), written in %.3f s",
            *(snap.seq, paused, written),
            extra={"seq": snap.seq},
        )

    # -- the public chain of commitments (exchange.checkpoints) ----------------------------------

    def cut_checkpoint(self) -> Cut | None:
        """Capture the state for a checkpoint now (in the loop, between two commands, all of it
        released: call ``catch_up`` first unless the journal covers it); None when this node cannot
        cut one (a standby, halted, not synced, or a cut still being sealed)."""
        cp = self.checkpointer
        if self.standby or self.halted is not None or self._cut_pending or not cp.synced:
            return None
        snap = self.exchange.capture_periodic()
        self._cut_pending = True
        return Cut(snap, cp.segment_upto(snap.seq))

    async def cut_ready(self, timeout: float = 30.0) -> None:
        """Wait (up to ``timeout`` s) until no checkpoint is being sealed, so one can be cut now."""
        deadline = time.monotonic() + timeout
        while self._cut_pending and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def _seal(self, cut: Cut, state_hash: str, liabilities_root: str | None) -> PublishCheckpoint | None:
        """Keep the cut's snapshot as the checkpoint's base and sign its record (any thread)."""
        try:
            self.checkpointer.save_base(self.exchange.snapshots.path_of(cut.snapshot.seq))
            return self.checkpointer.make_record(
                cut.snapshot.seq, cut.snapshot.ts_us, state_hash, cut.items, chain_key(self.data_dir), liabilities_root
            )
        except Exception:
            log.exception("checkpoint at %d could not be sealed", cut.snapshot.seq, extra={"seq": cut.snapshot.seq})
            self._cut_pending = False
            return None

    def _publish_record(self, command: PublishCheckpoint) -> None:
        """Journal a sealed record (in the loop); it is filed when released."""
        self._cut_pending = False
        try:
            self.submit_nowait(command)
        except Exception:
            log.exception("checkpoint at %d could not be journaled", command.seq, extra={"seq": command.seq})

    async def checkpoint_now(self, cut: Cut | None = None, liabilities_root: str | None = None) -> dict[str, Any]:
        """Cut (unless ``cut`` was taken already), seal and journal a checkpoint; its record once filed.
        Raises CheckpointUnavailable when this node cannot publish one now."""
        if cut is None:
            if self._snapshot_job is not None:
                await asyncio.wrap_future(self._snapshot_job)  # a periodic one being sealed goes first
            self.catch_up()
            cut = self.cut_checkpoint()
            if cut is None:
                raise CheckpointUnavailable(self._why_no_checkpoint())
        loop = asyncio.get_running_loop()

        def seal() -> PublishCheckpoint | None:
            _, digest = self.exchange.save(cut.snapshot)
            return self._seal(cut, digest, liabilities_root)

        command = await loop.run_in_executor(self._snapshot_writer, seal)
        self._cut_pending = False
        if command is None:
            raise CheckpointUnavailable("the checkpoint could not be sealed (logged)")
        await self.submit(command)
        for record in reversed(self.checkpointer.records):
            if record["seq"] == command.seq:
                filed: dict[str, Any] = record
                return filed
        raise CheckpointUnavailable(f"the record for {command.seq} was not filed (logged)")

    def _why_no_checkpoint(self) -> str:
        if self.standby:
            return "this server is a hot standby"
        if self.halted is not None:
            return "writes are halted"
        if self._cut_pending:
            return "a checkpoint is being sealed; try again in a moment"
        return "this node has not seen every command since the last checkpoint; it will at the next one"

    async def hourly_checkpoints(self, period: float = 60.0) -> None:
        """A checkpoint whenever an hour has passed since the newest one (checked every ``period``)."""
        while True:
            head = self.checkpointer.head
            if head is None or self.clock() - int(head["ts_us"]) >= HOUR_US:
                try:
                    await self.checkpoint_now()
                except CheckpointUnavailable as exc:
                    log.warning("hourly checkpoint skipped: %s", exc)
                except Exception:  # a failed checkpoint must never stop the exchange
                    log.exception("hourly checkpoint failed")
            await asyncio.sleep(period)

    def _on_released(self, seq: int, ts_us: int, events: list[Event]) -> None:
        metrics.events_released(events)
        self.checkpointer.released(events)
        self._released_seq = seq
        if self.store.failed is None:  # once abandoned, the next start projects from the journal
            try:
                self.store.project(seq, ts_us, events)
            except Exception as exc:
                self.store.abandon(exc)
                failure = ReadModelFailed(seq, exc)
                log.critical("%s", failure, exc_info=True, extra={"seq": seq})
                self.sequencer.halt(failure)
        steps = self.orders.apply(events)
        for listener in self.listeners:
            try:
                listener(seq, ts_us, events, steps)
            except Exception as exc:  # one listener's bug must not keep the others from the events
                log.critical(
                    "listener %r failed on command %d; halting writes", listener, seq, exc_info=True, extra={"seq": seq}
                )
                self.sequencer.halt(exc)

    def _project_recovered(self, seq: int, ts_us: int, events: list[Event]) -> None:
        """Catch-up projection at start: a failure stops the start, naming the command."""
        # (records in this replay are filed by sync_checkpointer, which replays the same journal)
        try:
            self.store.project(seq, ts_us, events)
        except Exception as exc:
            raise ReadModelFailed(seq, exc) from exc
        if seq % RECOVERY_BATCH == 0:  # bounded batches (PostgreSQL writes them meanwhile)
            self.store.commit()

    @property
    def halted(self) -> BaseException | None:
        """Why writes are halted (an engine or read-model failure), or None."""
        return self.sequencer.halted

    def open_orders(self, account: int) -> list[Order]:
        """The account's resting orders, oldest first (commands applied but not yet durable are
        confirmed against the engine, which is the live truth)."""
        return self.orders.resting(account, self.engine.orders)

    async def ensure_custody(self) -> Custody | None:
        """The server's custody; made on first use when ``--chain-rpc`` did not start it (deposit
        addresses only), None when it cannot be (production mode without ``RUCKSACK_CUSTODY_PASSWORD``).
        The first use loads the chain libraries and the seed (seconds): that runs in a worker thread,
        so the event loop keeps serving everyone else meanwhile; concurrent first uses wait for it."""
        if self.custody is None and not self._custody_tried:
            async with self._custody_lock:
                if self.custody is None and not self._custody_tried:
                    self.custody = await asyncio.to_thread(self._make_custody)
                    self._custody_tried = True
        return self.custody

    def _make_custody(self) -> Custody | None:
        from rucksack.exchange.custody.seed import CustodySeedError
        from rucksack.exchange.custody.service import Custody

        try:
            return Custody(ExchangeLedger(self))
        except CustodySeedError:  # production without its password: none
            return None

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def close(self) -> None:
        self._closing = True
        self._snapshot_writer.shutdown(wait=True)  # a periodic snapshot being written finishes first
        self.exchange.snapshot()
        self.exchange.close()
        self.store.close()
        for hook in self.after_close:  # e.g. give the writer lease up: everything is durable now
            hook()


class ExchangeLedger:
    """The exchange as custody sees it (``custody.service.Exchange``): the engine's credited
    deposit ids, the read store's withdrawals, and deposits journaled through the sequencer."""

    def __init__(self, service: ExchangeService) -> None:
        self._service = service

    @property
    def data_dir(self) -> Path:
        return self._service.data_dir

    @property
    def sandbox(self) -> bool:
        return self._service.sandbox

    def asset_decimals(self) -> dict[str, int]:
        return {a.symbol: a.decimals for a in self._service.spec.assets}

    def credited(self, tx_id: str) -> bool:
        return tx_id in self._service.engine.deposit_ids

    def has_asset(self, symbol: str) -> bool:
        return symbol in self._service.wire.assets

    def withdrawal_debited(self, ref: str) -> bool:
        return self._service.store.withdrawal_debited(ref)

    def withdrawal_held(self, ref: str) -> bool:
        return queries.withdrawal_held(self._service.engine, ref) is not None

    async def deposit(self, account: int, asset: str, atoms: int, tx_id: str) -> bool:
        events = await self._service.submit(Deposit(account, asset, atoms, tx_id))
        return any(isinstance(e, Deposited) for e in events)
