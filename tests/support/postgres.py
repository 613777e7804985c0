"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests: initdb in a temp dir, a free port, stopped after.

The server binaries come from the machine (Debian's `postgresql` package puts them in
/usr/lib/postgresql/<major>/bin; `PG_BINDIR` overrides). PostgreSQL refuses to run as root, so
under root the cluster belongs to the `postgres` user and every server command runs through
`runuser -u postgres`. Without the binaries the PostgreSQL tests are skipped with the reason;
with `DIPLODIGEST_REQUIRE_POSTGRES=1` (set by `.ci/run`) a missing or broken server fails them.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REQUIRE_ENV = "DIPLODIGEST_REQUIRE_POSTGRES"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here, or the cluster would not start (the reason says which)."""


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl: PG_BINDIR, else the newest Debian major version."""
    configured = os.environ.get("PG_BINDIR")
    candidates = (
        [Path(configured)]
        if configured
        else sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
            reverse=True,
        )
    )
    for path in candidates:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").is_file():
        return Path(found).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found (install Debian's `postgresql` package, or set "
        "PG_BINDIR to the directory with initdb and pg_ctl)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    """A running cluster; `url(dbname)` is a DATABASE_URL for one of its databases."""

    bindir: Path
    datadir: Path
    port: int
    user: str = "diplodigest"
    _runas: str | None = None

    def _run(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if self._runas:
            cmd = ["runuser", "-u", self._runas, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    @classmethod
    def start(cls) -> Cluster:
        bindir = find_bindir()
        runas = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root and there is no `postgres` user to own the test cluster"
                ) from None
            runas = "postgres"
        base = Path(tempfile.mkdtemp(prefix="diplodigest-pg-"))
        if runas:
            shutil.chown(base, user=runas)
        cluster = cls(bindir=bindir, datadir=base / "data", port=_free_port(), _runas=runas)
        try:
            cluster._run(
                bindir / "initdb",
                "-D",
                cluster.datadir,
                "-U",
                cluster.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )
            options = (
                f"-p {cluster.port} -c listen_addresses=127.0.0.1 -k {base} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            cluster._run(
                bindir / "pg_ctl",
                "-D",
                cluster.datadir,
                "-o",
                options,
                "-l",
                base / "server.log",
                "-w",
                "-t",
                "60",
                "start",
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            log = base / "server.log"
            tail = log.read_text(errors="replace")[-800:] if log.is_file() else ""
            stderr = getattr(exc, "stderr", "") or ""
            shutil.rmtree(base, ignore_errors=True)
            raise PostgresUnavailable(
                f"the test cluster did not start: {stderr.strip()} {tail}"
            ) from None
        return cluster

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A fresh empty database in this cluster; returns its URL."""
        self._run(
            self.bindir / "createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-T",
            "template0",
            name,
        )
        return self.url(name)

    def migrated_template(self) -> str:
        """The name of a database holding the migrated schema and nothing else, made once;
        `fresh_database` copies it (much faster than migrating each test's database)."""
        if not getattr(self, "_template", None):
            from storage.migrations import upgrade_url

            url = self.create_database("diplodigest_template")
            migrate = upgrade_url(url.replace("postgresql://", "postgresql+asyncpg://", 1))
            # in a thread of its own: the caller may be inside a test's running event loop
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, migrate).result()
            self._template = "diplodigest_template"
        return self._template

    async def fresh_database(self) -> str:
        """A new database with the current schema (a copy of the template); returns its URL."""
        import asyncpg

        self._copies = getattr(self, "_copies", 0) + 1
        name = f"test_{os.getpid()}_{self._copies}"
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.migrated_template()}"')
        finally:
            await conn.close()
        return self.url(name)

    def stop(self) -> None:
        self._run(
            self.bindir / "pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop", check=False
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)
