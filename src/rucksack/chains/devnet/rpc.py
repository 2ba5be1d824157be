"""JSON-RPC 2.0 plumbing shared by the SVM and EVM nodes: errors and the per-request dispatch."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


Handler = Callable[[list[Any]], Any]


class Node:
    """A chain behind JSON-RPC: a method table, called one request at a time (the VMs are not thread-safe)."""

    key: str

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.methods: dict[str, Handler] = {}

    def handle(self, request: Any) -> dict[str, Any] | None:
        """One JSON-RPC request object -> its response object (None for a notification)."""
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or "method" not in request:
            return _error(None, RpcError(INVALID_REQUEST, "invalid request"))
        rid = request.get("id")
        params = request.get("params", [])
        if isinstance(params, dict) or params is None:
            params = [] if params is None else [params]
        handler = self.methods.get(str(request["method"]))
        if handler is None:
            return _error(rid, RpcError(METHOD_NOT_FOUND, f"Method not found: {request['method']}"))
        try:
            with self._lock:
                result = handler(list(params))
        except RpcError as exc:
            return _error(rid, exc)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            return _error(rid, RpcError(INVALID_PARAMS, f"Invalid params: {exc}"))
        except Exception as exc:  # a VM-side failure answers as an error; the server keeps serving
            return _error(rid, RpcError(INTERNAL_ERROR, f"Internal error: {type(exc).__name__}: {exc}"))
        return {"jsonrpc": "2.0", "result": result, "id": rid}


def _error(rid: Any, exc: RpcError) -> dict[str, Any]:
    err: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.data is not None:
        err["data"] = exc.data
    return {"jsonrpc": "2.0", "error": err, "id": rid}
