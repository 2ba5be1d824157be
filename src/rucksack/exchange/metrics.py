"""Prometheus metrics of one process: the registry, every metric's definition and small hooks.

Each process (the single writer, and each gateway process in front of it) has its own registry --
the module-level :data:`METRICS`, made at import, so a forked or spawned process starts with its
own -- and answers ``GET /metrics`` with :func:`render` (Prometheus' text format, 0.0.4). A
scrape of every process's ``/metrics`` gives the venue; the ``process_*`` series (CPU, memory,
open files) tell processes apart by their ``pid``-bound values.

What is measured (names as exported; counters end in ``_total``; rates are ``rate()`` of them):

- ``rucksack_commands_total{command}``, ``rucksack_events_total{event}``: commands sequenced and
  events they produced, by type (bounded: the core's command and event classes);
- ``rucksack_journal_group_records`` and ``rucksack_journal_fsync_seconds``: records per group
  commit and the ``fdatasync`` time of each group (0 without fsync);
- ``rucksack_sequencer_queue_depth``: commands sequenced but not yet released (waiting for their
  group commit), read at scrape time;
- ``rucksack_http_request_seconds{method,route,status}``: per-route latency; ``route`` is the
  path of a known route, else ``other`` (so hostile paths cannot blow up the series);
- ``rucksack_ws_connections`` and ``rucksack_ws_dropped_messages_total{reason}``: open WebSocket
  connections, and messages never delivered (``slow_client``: its queue was full and it was
  closed; ``closing``: sent while it was being closed; ``disconnected``: queued when it left);
- ``rucksack_liquidation_sweep_seconds``: the time each ``LiquidationSweep`` took to be sequenced
  (stamped, queued for the journal) and applied by the engine, in the writer's thread.

The hooks are cheap: a cached labelled child and an increment or observation (about 1-2 µs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
SWEEP_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)


class Metrics:
    """One process's registry and metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        self.commands = Counter("rucksack_commands", "Commands sequenced, by type", ["command"], registry=r)
        self.events = Counter("rucksack_events", "Events of sequenced commands, by type", ["event"], registry=r)
        self.journal_group = Histogram(
            "rucksack_journal_group_records", "Records per journal group commit", buckets=GROUP_BUCKETS, registry=r
        )
        self.journal_fsync = Histogram(
            "rucksack_journal_fsync_seconds", "fdatasync time per group commit", buckets=LATENCY_BUCKETS, registry=r
        )
        self.queue_depth = Gauge(
            "rucksack_sequencer_queue_depth", "Commands sequenced, not yet durable and released", registry=r
        )
        self.requests = Histogram(
            "rucksack_http_request_seconds",
            "HTTP request latency by route",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.ws_connections = Gauge("rucksack_ws_connections", "Open WebSocket connections", registry=r)
        self.ws_dropped = Counter(
            "rucksack_ws_dropped_messages", "WebSocket messages not delivered", ["reason"], registry=r
        )
        self.liquidation_sweep = Histogram(
            "rucksack_liquidation_sweep_seconds", "Engine time of one sweep", buckets=SWEEP_BUCKETS, registry=r
        )
        # labelled children cached: ``labels()`` validates and locks on every call, a dict does not
        self._command_children: dict[str, Counter] = {}
        self._event_children: dict[str, Counter] = {}
        self._request_children: dict[tuple[str, str, int], Histogram] = {}

    def command(self, name: str) -> None:
        child = self._command_children.get(name)
        if child is None:
            child = self._command_children[name] = self.commands.labels(name)
        child.inc()

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(method, route, str(status))
        child.observe(seconds)

    def events_of(self, events: Iterable[object]) -> None:
        children = self._event_children
        for event in events:
            name = type(event).__name__
            child = children.get(name)
            if child is None:
                child = children[name] = self.events.labels(name)
            child.inc()


METRICS = Metrics()
"""This process's metrics."""


def command_applied(command: object, seconds: float) -> None:
    """A command was sequenced and applied in ``seconds`` (the writer's time, not the commit wait)."""
    name = type(command).__name__
    METRICS.command(name)
    if name == "LiquidationSweep":
        METRICS.liquidation_sweep.observe(seconds)


def events_released(events: Iterable[object]) -> None:
    METRICS.events_of(events)


def journal_group(records: int, fsync_seconds: float) -> None:
    METRICS.journal_group.observe(records)
    METRICS.journal_fsync.observe(fsync_seconds)


def watch_queue_depth(depth: Callable[[], float]) -> None:
    """Read the sequencer's queue depth from ``depth`` at each scrape."""
    METRICS.queue_depth.set_function(depth)


def request_done(method: str, route: str, status: int, seconds: float) -> None:
    METRICS.request(method, route, status, seconds)


def ws_connected(delta: int) -> None:
    METRICS.ws_connections.inc(delta)


def ws_dropped(reason: str, messages: int) -> None:
    if messages > 0:
        METRICS.ws_dropped.labels(reason).inc(messages)


def render() -> tuple[bytes, str]:
    """The text exposition of this process's registry and its content type."""
    return generate_latest(METRICS.registry), CONTENT_TYPE


__all__ = [
    "CONTENT_TYPE",
    "METRICS",
    "Metrics",
    "command_applied",
    "events_released",
    "journal_group",
    "render",
    "request_done",
    "watch_queue_depth",
    "ws_connected",
    "ws_dropped",
]
