"""Engine creation, schema start-up and the revision counter.

Revision allocation (SYNC_RESEARCH.md §3.2) is the first statement of every write
transaction that touches synced rows: ``UPDATE sync_meta SET current_rev = current_rev + 1
RETURNING current_rev``. The row lock (PostgreSQL) or the ``BEGIN IMMEDIATE`` write lock
(SQLite) is held to commit, so revisions become visible strictly in commit order and a
pull cursor can never skip a row. Every row written by that transaction shares the rev.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
import secrets
import threading
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import event

from app.domain.clock import BEIJING
from app.server.tables import metadata, sync_meta
from app.sync import wire

_WRITE = "command_desk_write"  # execution option: open this transaction as the writer
_WRITE_LOCKS: dict[int, threading.RLock] = {}  # per SQLite engine: this process's writers take turns
_PG_SCHEMA_LOCK = 7_301_001  # advisory lock key serialising create_all across processes


def now_iso() -> str:
    return dt.datetime.now(BEIJING).isoformat(timespec="milliseconds")


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_engine(url: str) -> sa.Engine:
    # pysqlite3 bundles SQLite 3.53 (WAL-reset fix, MACHINE_NOTES.md); the stdlib has 3.40.
    import pysqlite3.dbapi2 as sqlite

    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, module=sqlite, pool_size=8, max_overflow=8,
                              connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # stop pysqlite's implicit BEGIN; we issue our own
        cur = dbapi_conn.cursor()
        # Constants only. FULL: an acknowledged push must survive a power cut.
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000",
                       "foreign_keys=ON", "temp_store=MEMORY"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    _WRITE_LOCKS[id(engine)] = threading.RLock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the lock up front so two writers never deadlock on lock upgrade.
        write = conn.get_execution_options().get(_WRITE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@contextlib.contextmanager
def writer(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection whose transactions are write transactions (BEGIN IMMEDIATE on SQLite).

    On SQLite the writers of this process also queue on a lock first: SQLite has one writer
    anyway, and a writer left to SQLite's busy handler polls with sleeps of up to 100 ms,
    which under a few concurrent pushes turned a 5 ms commit into a 400 ms p95. Writers in
    other processes (the CLI) still meet the busy timeout as before.
    """
    lock = _WRITE_LOCKS.get(id(engine)) if is_sqlite(engine) else None
    with lock or contextlib.nullcontext(), engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        yield conn


@contextlib.contextmanager
def reader(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection for one consistent read snapshot (pull pages must not mix snapshots)."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


_PG_TEXT: dict[str, str] = {}


def run_sql(conn: sa.Connection, sql: str, params: tuple = ()) -> sa.CursorResult:
    """A constant statement at driver level, ``?`` placeholders (``%s`` on PostgreSQL).

    For the few statements every request runs: building a Core statement costs ~0.1 ms of
    Python each time, several times the statement itself. Only constants go into ``sql``.
    """
    if conn.dialect.name != "sqlite":
        sql = _PG_TEXT.get(sql) or _PG_TEXT.setdefault(sql, sql.replace("?", "%s"))
    return conn.exec_driver_sql(sql, params)


def allocate_rev(conn: sa.Connection) -> int:
    """Take the next revision; MUST be the first statement of the write transaction."""
    return allocate(conn)[0]


def allocate(conn: sa.Connection) -> tuple[int, str]:
    """:func:`allocate_rev`, also returning the server epoch (read under the same lock)."""
    rev, epoch = run_sql(conn, "UPDATE sync_meta SET current_rev = current_rev + 1 WHERE id = 1 "
                               "RETURNING current_rev, server_epoch").one()
    return rev, epoch


@contextlib.contextmanager
def rev_transaction(engine: sa.Engine) -> Iterator[tuple[sa.Connection, int]]:
    """One write transaction holding the revision lock; commits on success."""
    with writer(engine) as conn, conn.begin():
        yield conn, allocate_rev(conn)


def init_schema(engine: sa.Engine) -> None:
    """Create missing tables and the sync_meta row; safe to run from several processes at once."""
    with writer(engine) as conn, conn.begin():
        if not is_sqlite(engine):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
        metadata.create_all(conn)
        from app.server.devices import add_missing_columns  # device keys: columns of an older database

        add_missing_columns(conn)
        row = conn.execute(sa.select(sync_meta.c.schema_version)).first()
        if row is None:
            conn.execute(sync_meta.insert().values(
                id=1, server_epoch=str(uuid.uuid4()), current_rev=0, min_valid_cursor=0,
                schema_version=wire.SCHEMA_VERSION, secret=secrets.token_hex(32)))
        elif row.schema_version > wire.SCHEMA_VERSION:
            raise RuntimeError(f"database schema {row.schema_version} is newer than this server "
                               f"({wire.SCHEMA_VERSION}); upgrade the server")


def meta(conn: sa.Connection) -> sa.Row:
    return run_sql(conn, "SELECT id, server_epoch, current_rev, min_valid_cursor, schema_version, secret "
                         "FROM sync_meta").one()


def rotate_epoch(engine: sa.Engine) -> str:
    """New server_epoch: run after every restore from backup (SYNC_RESEARCH.md §3.11)."""
    epoch = str(uuid.uuid4())
    with rev_transaction(engine) as (conn, _rev):
        conn.execute(sync_meta.update().where(sync_meta.c.id == 1).values(server_epoch=epoch))
    return epoch
