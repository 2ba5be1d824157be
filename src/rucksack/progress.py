"""Progress bars for long operator commands: a ``tqdm`` bar on stderr when stderr is a terminal,
nothing otherwise (scripts and CI read only the command's JSON line on stdout)."""

from __future__ import annotations

import sys
from typing import Protocol


class Progress(Protocol):
    def update(self, n: float = 1) -> bool | None: ...

    def close(self) -> None: ...


class _Silent:
    def update(self, n: float = 1) -> bool | None:
        return None

    def close(self) -> None:
        return None


def progress_bar(desc: str, total: int | None = None, unit: str = "it") -> Progress:
    """A bar counting ``unit``s up to ``total`` (None: a counter and a rate), or a silent stand-in."""
    if not sys.stderr.isatty():
        return _Silent()
    from tqdm import tqdm  # type: ignore[import-untyped]  # (no stubs ship with it)

    bar: Progress = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, mininterval=0.2)
    return bar


__all__ = ["Progress", "progress_bar"]
