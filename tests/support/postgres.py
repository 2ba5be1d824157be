"""A throwaway PostgreSQL 15 cluster for the tests: ``initdb`` into a temp dir, ``pg_ctl start`` on
a free loopback port, ``pg_ctl stop`` and the dir removed at the end.

PostgreSQL refuses to run as root, so under root (CI on a fresh Debian machine) the server runs as
the unprivileged ``postgres`` user that Debian's ``postgresql`` package creates (``make setup``
installs it); as any other user it runs as that user. The cluster trusts loopback connections
(tests only: nothing listens beyond 127.0.0.1) and is tuned for speed, not durability (fsync off:
a crash of the test machine loses nothing anyone needs).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def _pg_bin() -> Path:
    """``RUCKSACK_PG_BIN``, else Debian's PostgreSQL 15, else the newest Debian PostgreSQL there is."""
    if os.environ.get("RUCKSACK_PG_BIN"):
        return Path(os.environ["RUCKSACK_PG_BIN"])
    preferred = Path("/usr/lib/postgresql/15/bin")
    found = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if p.parent.parent.name.isdigit()),
        key=lambda b: int(b.parent.name),
    )
    return preferred if preferred.exists() or not found else found[-1]


PG_BIN = _pg_bin()
SUPERUSER = "postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user when we are root, else as ourselves."""
    if os.geteuid() != 0:
        return argv
    return ["/usr/sbin/runuser", "-u", SUPERUSER, "--", *argv]


@dataclass
class Cluster:
    root: Path
    port: int

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str) -> None:
        subprocess.run(
            [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", self.dsn(), "-c", sql],
            check=True,
            capture_output=True,
        )

    def create_database(self, name: str) -> str:
        """A fresh, empty database; its DSN."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}"')
        self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self) -> None:
        _pg_ctl_stop(self.root / "data")
        shutil.rmtree(self.root, ignore_errors=True)


def _pg_ctl_stop(data: Path) -> None:
    subprocess.run(
        _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]), capture_output=True
    )


def start_cluster() -> Cluster:
    """initdb + pg_ctl start on a free loopback port; raises with the server's log when it fails."""
    initdb = PG_BIN / "initdb"
    if not initdb.exists():
        raise RuntimeError(f"no PostgreSQL at {PG_BIN}: `make setup` installs Debian's postgresql (apt-get)")
    root = Path(tempfile.mkdtemp(prefix="rucksack-pg-"))
    os.chmod(root, 0o755)  # the postgres user must reach its data dir (mkdtemp makes it 0700)
    if os.geteuid() == 0:
        user = pwd.getpwnam(SUPERUSER)
        os.chown(root, user.pw_uid, user.pw_gid)
    data, log = root / "data", root / "server.log"
    subprocess.run(
        _as_server_user(
            [str(initdb), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    for _ in range(3):  # a free port can be taken by someone else before the server binds it
        port = free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off"
        options += " -c full_page_writes=off -c max_connections=200"
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
        started = subprocess.run(_as_server_user(pg_ctl), capture_output=True)
        if started.returncode == 0:
            if _listening(port):
                return Cluster(root, port)
            _pg_ctl_stop(data)
    text = log.read_text(errors="replace") if log.exists() else started.stderr.decode(errors="replace")
    Cluster(root, 0).stop()
    raise RuntimeError(f"PostgreSQL did not start: {text}")


def _listening(port: int) -> bool:
    """pg_ctl -w waited for the socket file; make sure TCP answers too."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False
