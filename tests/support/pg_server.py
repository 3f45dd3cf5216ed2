"""A PostgreSQL server of a test's own (pgserver's PostgreSQL 16 from the wheel, Unix socket), that
the test can stop and start again at the same address: fault injection for the database."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import warnings

with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset (containers)
    warnings.simplefilter("ignore")
    import pgserver
    from pgserver._commands import pg_ctl

from tenants.migrate import migrate


class PostgresProcess:
    def __init__(self):
        # not under pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to mode 0700 whenever a
        # session starts, which would lock out the unprivileged user pgserver runs PostgreSQL as
        self.workdir = Path(tempfile.mkdtemp(prefix="townhall-pg-"))
        self.pgdata = self.workdir / "pgdata"
        self.pgdata.mkdir()
        self.server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        self.server.psql("create database townhall;")
        self.owner_url = self.server.get_uri("townhall")
        migrate(self.owner_url)

    def stop(self, mode: str = "fast") -> None:
        """`fast` is an orderly restart's first half; `immediate` is a crash."""
        pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.pgdata, user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def cleanup(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.workdir, ignore_errors=True)
