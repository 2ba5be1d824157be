"""The writer lease: one key in a JetStream key-value bucket whose TTL makes it lapse.

The writer creates the key ``writer`` (refused while anyone holds it) and renews it every
``ttl / 5`` seconds with a compare-and-set on the revision it last wrote; the bucket's TTL
removes the key ``ttl`` seconds after the last renewal, so a writer that dies or stalls loses it
and a standby's create then succeeds. The revision at creation is the writer's **epoch**
(strictly increasing across writers: revisions are stream sequences).

A standby takes the lease when the key is gone, or when the revision it sees has not changed for
a whole ``ttl`` by its own clock (compare-and-set on that revision): the holder wrote that
revision no later than the standby first saw it, so its own validity ended before. This does not
wait for the server's expiry timer, so a takeover follows a writer's death by at most ``ttl``
plus one poll.

A writer considers itself valid until ``ttl - margin`` after the start of its last successful
renewal; past that, or when a renewal is refused (someone else's key, or none), it is deposed:
``on_lost`` is called once and the writer must stop appending (the stream's expected-last-sequence
check fences it in any case; this makes it stop promptly instead of at its next append).

The value (JSON) names the holder: ``writer`` (its id), ``address``, ``pid``, and what the server
publishes (``serve --link``): ``link`` and ``api``, the loopback addresses where independent
gateways link to it (``gateway.discovery``), and ``data_dir``. At a clean stop the writer gives
the lease up (``release``: a compare-and-set delete) so a standby takes it at once; its renewal
loop then ends without calling ``on_lost``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from rucksack.exchange.replica.link import LEASE_BUCKET, LEASE_KEY, NatsLink

log = logging.getLogger(__name__)

DEFAULT_TTL = 1.5
MARGIN = 0.3


class Lease:
    def __init__(
        self,
        link: NatsLink,
        writer_id: str,
        address: str,
        ttl: float = DEFAULT_TTL,
        published: dict[str, str] | None = None,
    ) -> None:
        self.link = link
        self.writer_id = writer_id
        self.ttl = ttl
        value = {"writer": writer_id, "address": address, "pid": os.getpid(), **(published or {})}
        self.value = json.dumps(value).encode()
        self.revision = 0
        self.valid_until = 0.0  # time.monotonic() bound; 0: not held
        self.lost: str | None = None
        self._kv: KeyValue | None = None
        self._seen_revision = 0  # the holder's revision a standby saw last, and when it first did
        self._seen_at = 0.0

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self.link.js.key_value(LEASE_BUCKET)
        return self._kv

    async def holder(self) -> dict[str, Any] | None:
        """Who holds the lease now (its value), or None when it is free."""
        kv = await self._bucket()
        try:
            entry = await kv.get(LEASE_KEY)
        except KeyNotFoundError:
            return None
        return dict(json.loads(entry.value or b"{}"))

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it."""
        kv = await self._bucket()
        started = time.monotonic()
        try:
            self.revision = await kv.create(LEASE_KEY, self.value)
        except KeyWrongLastSequenceError:
            return False
        self.valid_until = started + self.ttl - MARGIN
        self.lost = None
        return True

    async def try_take_over(self) -> bool:
        """Take the lease when it is free, or when its holder has not renewed it for a whole TTL
        as timed here (the holder stopped considering itself valid before that: see the module
        docstring), with a compare-and-set on the revision seen. Called repeatedly by a standby."""
        kv = await self._bucket()
        started = time.monotonic()
        try:
            entry = await kv.get(LEASE_KEY)
        except KeyNotFoundError:  # never taken, expired or deleted
            return await self.try_acquire()
        if entry.revision != self._seen_revision:
            self._seen_revision, self._seen_at = entry.revision or 0, started
            return False
        if started - self._seen_at < self.ttl:
            return False
        try:
            self.revision = await kv.update(LEASE_KEY, self.value, last=entry.revision)
        except KeyWrongLastSequenceError:  # renewed or taken just now
            return False
        self.valid_until = started + self.ttl - MARGIN
        self.lost = None
        return True

    def valid(self) -> bool:
        return self.lost is None and time.monotonic() < self.valid_until

    async def renew_forever(self, on_lost: Callable[[str], None]) -> None:
        """Renew until the lease is lost; then call ``on_lost(why)`` once and return."""
        kv = await self._bucket()
        while True:
            await asyncio.sleep(self.ttl / 5)
            if self.lost == "released":  # a clean shutdown gave it up
                return None
            if time.monotonic() >= self.valid_until:
                return self._lose("the lease lapsed before it could be renewed", on_lost)
            started = time.monotonic()
            try:
                revision = await kv.update(LEASE_KEY, self.value, last=self.revision)
                if self.lost == "released":  # released while this renewal was on its way
                    await kv.delete(LEASE_KEY, last=revision)
                    return None
                self.revision = revision
                self.valid_until = started + self.ttl - MARGIN
            except KeyWrongLastSequenceError:
                if self.lost == "released":
                    return None
                return self._lose("another writer holds the lease", on_lost)
            except Exception as exc:  # a node restarting: retry until the lease would lapse
                log.warning("lease renewal failed (%s); retrying", exc)

    def _lose(self, why: str, on_lost: Callable[[str], None]) -> None:
        self.lost = why
        self.valid_until = 0.0
        on_lost(why)

    async def release(self) -> None:
        """Give the lease up at a clean shutdown (the standby need not wait for the TTL)."""
        if self.lost is None and self.revision:
            self.lost = "released"
            kv = await self._bucket()
            with contextlib.suppress(Exception):  # already gone or taken: nothing to release
                await kv.delete(LEASE_KEY, last=self.revision)


__all__ = ["DEFAULT_TTL", "Lease"]
