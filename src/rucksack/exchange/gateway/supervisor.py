"""The sequencer process supervises its gateways: starts N, restarts any that exits, stops them.

A gateway that exits (crash, kill, a replica that diverged, a link it lost) is started again after
``RESTART_DELAY`` seconds; the new process joins through a fresh state transfer. On shutdown every
gateway gets SIGTERM (uvicorn's graceful stop), then SIGKILL after ``STOP_GRACE`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

log = logging.getLogger("rucksack.gateway.supervisor")
RESTART_DELAY = 0.2
STOP_GRACE = 10.0


class Supervisor:
    def __init__(self, argv: list[str], count: int, pass_fds: tuple[int, ...] = ()) -> None:
        self.argv = argv
        self.count = count
        self.pass_fds = pass_fds
        self.procs: dict[int, asyncio.subprocess.Process] = {}
        self.restarts = 0

    async def _spawn(self, index: int) -> None:
        proc = await asyncio.create_subprocess_exec(*self.argv, pass_fds=self.pass_fds)
        self.procs[index] = proc
        sys.stderr.write(f"rucksack: gateway {index} started (pid {proc.pid})\n")

    async def run(self) -> None:
        try:
            for index in range(self.count):
                await self._spawn(index)
            while True:
                waits = {asyncio.ensure_future(p.wait()): i for i, p in self.procs.items()}
                done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                for task in done:
                    index = waits[task]
                    log.warning(
                        "gateway %d (pid %d) exited with %s; restarting it", index, self.procs[index].pid, task.result()
                    )
                    self.restarts += 1
                    await asyncio.sleep(RESTART_DELAY)
                    await self._spawn(index)
        finally:
            await self.stop()

    async def stop(self) -> None:
        procs = [p for p in self.procs.values() if p.returncode is None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
