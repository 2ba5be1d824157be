"""A gateway process: the whole public API (REST and WebSocket) on the shared public port.

The sequencer process binds the public port once (``public_socket``: an exclusive bind, so a port
another server holds is refused at start) and every gateway inherits that listening socket and
accepts from it (the pre-fork model): the kernel hands each new connection to whichever gateway
accepts first, and a connection stays with the gateway that accepted it. A gateway that dies takes
only its accepted connections with it; connections still queued on the socket are accepted by the
others and by its replacement. (Chosen over ``SO_REUSEPORT``, where each gateway binds its own
socket: there a dying gateway's queued connections are reset, and a foreign server of the same
user could silently share the port. Independent gateways, ``rucksack gateway``, have no common
parent to inherit a socket from, so they do use ``SO_REUSEPORT``: ``gateway.discovery``.)

What a gateway does itself: HTTP and WebSocket parsing, signature and window checks, validation,
reads (replica engine, read models opened read-only), WebSocket streams, and forwarding commands
(``replica.GatewayService.submit``). What it hands to the sequencer process unchanged, over that
process's private HTTP socket (``PROXIED``): the sandbox/admin endpoints (the price feed, reserves
snapshots, signup), chain custody (deposit addresses, withdrawals and their chain data) and the
subaccount/API-key creations whose check-then-write must be serialized in one place. After a
proxied answer the gateway waits for its replica to have applied everything the sequencer had
(``sync``), so the client's next request, on any gateway, sees the change.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect

from rucksack.exchange.api.app import ADMIN, OPERATOR, SEQUENCER_METRICS, create_app, error_response, read_body
from rucksack.exchange.api.errors import ApiError
from rucksack.exchange.api.ws import MAX_FRAME
from rucksack.exchange.gateway.replica import GatewayService, open_link
from rucksack.exchange.logs import configure as configure_logging
from rucksack.exchange.sequencer.datadir import read_spec
from rucksack.exchange.sequencer.sequencer import NotWriter

log = logging.getLogger("rucksack.gateway")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PROXIED: frozenset[tuple[str, str]] = frozenset(
    {
        *ADMIN,
        *OPERATOR,  # signed by the operator key the sequencer process holds; journaled there
        ("GET", SEQUENCER_METRICS),  # the writer's own metrics (docs/operations.md)
        ("GET", "/wapi/v1/capital/deposit/address"),
        ("GET", "/wapi/v1/capital/deposits"),
        ("GET", "/wapi/v1/capital/withdrawals"),
        ("POST", "/wapi/v1/capital/withdrawals"),
        ("DELETE", "/wapi/v1/capital/withdrawals"),  # cancelling a held one updates custody's row too
        ("POST", "/api/v1/subaccounts"),
        ("POST", "/api/v1/subaccounts/apiKeys"),
        # the NFT VIP challenge is an HMAC under the sequencer process's secret (exchange.nft_perk)
        ("GET", "/api/v1/account/nftVip/challenge"),
        ("POST", "/api/v1/account/nftVip"),
    }
)
HOP_HEADERS = {b"host", b"content-length", b"connection", b"transfer-encoding", b"keep-alive"}


class Upstream:
    """Where the ``PROXIED`` routes go: the sequencer process's private API, over its Unix socket
    (embedded gateways) or at the loopback address the writer lease names (independent gateways,
    ``gateway.discovery``, which re-points it after a failover); ``client`` is None without a writer."""

    def __init__(self, uds: str | None = None) -> None:
        self.base = "http://sequencer"
        self.client: httpx.AsyncClient | None = None
        self._tcp: httpx.AsyncClient | None = None  # made once: a client is not tied to one host
        if uds is not None:
            self.client = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=uds), timeout=120)

    def point(self, base: str | None) -> None:
        """Send the proxied routes to ``base`` (plain HTTP on loopback) from now on; None: nowhere."""
        if base is None:
            self.client = None
            return
        if self._tcp is None:
            self._tcp = httpx.AsyncClient(timeout=120)
        self.base, self.client = base, self._tcp


def with_proxy(app: ASGIApp, service: GatewayService, upstream: Upstream) -> ASGIApp:
    """``app`` with the ``PROXIED`` routes answered by the sequencer process (see the docstring)."""

    async def proxied(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) not in PROXIED:
            await app(scope, receive, send)
            return
        try:
            body = await read_body(Headers(scope=scope), receive)
            query = scope.get("query_string", b"").decode("latin-1")
            url = upstream.base + scope["path"] + (f"?{query}" if query else "")
            headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_HEADERS]
            if (client := upstream.client) is None:
                raise NotWriter("no writer linked")
            answer = await client.request(scope["method"], url, content=body, headers=headers)
            await service.sync()
            status, content, media = answer.status_code, answer.content, answer.headers.get("content-type")
        except ApiError as err:
            await error_response(err)(scope, receive, send)
            return
        except ClientDisconnect:  # the client left before its body arrived: nothing is forwarded
            return
        except NotWriter:  # an independent gateway between two writers: as the API answers it
            paused = ApiError(503, "TRADING_PAUSED", "Trading is paused: this server is not linked to the writer")
            await error_response(paused)(scope, receive, send)
            return
        except httpx.HTTPError:
            log.exception("the sequencer process did not answer %s %s", scope["method"], scope["path"])
            await error_response(ApiError(503, "SERVICE_UNAVAILABLE", "The exchange is unavailable"))(
                scope, receive, send
            )
            return
        head = [(b"content-length", str(len(content)).encode())]
        if media:
            head.append((b"content-type", media.encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": content})

    return proxied


def public_socket(host: str, port: int) -> socket.socket:
    """The public listening socket, bound by the sequencer process and inherited by the gateways."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT only, not sharing
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


async def run(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir)
    welcome, link = await open_link(args.link)
    service = GatewayService(data_dir, read_spec(data_dir), welcome, link, sandbox=args.sandbox, store=args.store)
    app = with_proxy(create_app(service, []), service, Upstream(uds=args.internal))
    sock = socket.socket(fileno=args.fd)  # the sequencer's listening socket, inherited
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", ws_max_size=MAX_FRAME, loop="none"
    )
    sys.stderr.write(f"rucksack: gateway {os.getpid()} serving http://{args.host}:{args.port} from seq {welcome.seq}\n")
    await uvicorn.Server(config).serve(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rucksack-gateway")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fd", type=int, required=True, help="the inherited public listening socket")
    parser.add_argument("--link", required=True, help="the sequencer's gateway link (Unix socket)")
    parser.add_argument("--internal", required=True, help="the sequencer's private HTTP (Unix socket)")
    parser.add_argument("--production", dest="sandbox", action="store_false")
    parser.add_argument("--store", default=None, help="the read store the sequencer projects into (as serve's)")
    return start(run(parser.parse_args(argv)))


def start(main: Coroutine[Any, Any, None]) -> int:
    """Run a gateway process's ``main`` coroutine (embedded or independent): the server's recursion
    limit, JSON logs (secrets never; no line per proxied request), private files, uvloop when there."""
    from rucksack.exchange.server import pin_recursion_limit  # the server imports this module

    pin_recursion_limit()
    configure_logging()  # one JSON object a line, secrets never (exchange/logs.py)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per proxied request
    os.umask(0o077)
    try:
        import uvloop

        uvloop.run(main)
    except ImportError:
        asyncio.run(main)
    return 0
