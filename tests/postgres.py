"""A private PostgreSQL cluster for tests and benchmarks: Debian's binaries, a temporary folder, a free port.

PostgreSQL refuses to run as root, so when we are root the cluster belongs to the unprivileged ``postgres`` user
(Debian's package creates it), else to whoever we are. ``fsync`` is off: the cluster lives as long as the session.
Autovacuum is off too: its ANALYZE commits a transaction now and then, which changes the reader's change token
(the server's snapshot) at moments a test cannot foresee.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: Where Debian (and a few other distributions) keep the server binaries; ``PATH`` is tried first.
BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin")
SUPERUSER = "lens_admin"
#: A role that may only read MLflow's tables: what a portal needs.
READER, READER_PASSWORD = "lens_reader", "reader-pw"


def bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    if (found := shutil.which("initdb")) and shutil.which("pg_ctl"):
        return Path(found).parent
    for pattern in BIN_GLOBS:
        for folder in sorted(glob.glob(pattern), reverse=True):  # the newest major version first
            if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
                return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    bin: Path
    folder: Path
    port: int
    user: str | None  # the OS user the server runs as when we are root

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                              cwd=self.folder)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def uri(self, database: str = "mlflow", *, driver: str = "+psycopg", reader: bool = False) -> str:
        who = f"{READER}:{READER_PASSWORD}" if reader else SUPERUSER
        return f"postgresql{driver}://{who}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c autovacuum=off")
        done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-o", options,
                         "-w", "-t", "60", "start")
        if done.returncode != 0:
            log = (self.folder / "server.log").read_text() if (self.folder / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}{done.stdout}\n{log[-2000:]}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}",
                             autocommit=True) as con:
            con.execute(statement)


def start_cluster() -> Cluster:
    """initdb + pg_ctl start on a new temporary folder and a free port; raises RuntimeError when it cannot."""
    folder_bin = bin_dir()
    if folder_bin is None:
        raise FileNotFoundError("PostgreSQL's initdb / pg_ctl are not installed (Debian: apt-get install postgresql)")
    user = None
    folder = Path(tempfile.mkdtemp(prefix="lens-pg-"))
    if os.geteuid() == 0:
        user = "postgres" if _has_user("postgres") else "nobody"
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(folder_bin, folder, _free_port(), user)
    done = cluster._run("initdb", "-D", str(cluster.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                        "--locale=C", "--no-sync", timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr}{done.stdout}")
    for attempt in range(3):
        try:
            cluster.start()
            break
        except RuntimeError:
            if attempt == 2:
                raise
            cluster.port = _free_port()  # someone took the port between the pick and the start
    cluster.sql("CREATE DATABASE mlflow")
    cluster.sql(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
    return cluster


def grant_reader(cluster: Cluster, database: str = "mlflow") -> None:
    """The read-only role may read every table MLflow created (run after MLflow made its schema)."""
    cluster.sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER}", database)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
        for _ in range(20):  # the server's files are gone once it has stopped
            with contextlib.suppress(OSError):
                shutil.rmtree(cluster.folder)
                break
            time.sleep(0.1)
