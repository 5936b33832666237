"""Opening the local cache and the single writer.

SQLite runs in WAL mode with ``synchronous=FULL`` (a saved entry survives a power
cut), foreign keys on, and every write transaction opened with ``BEGIN IMMEDIATE``
on one writer thread (SYNC_RESEARCH.md §3.3). The driver is pysqlite3, whose
bundled SQLite (3.53) carries the WAL-reset fix and a trigram tokenizer that
handles short LIKE patterns correctly; the stdlib's 3.40 has neither.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pysqlite3.dbapi2 as sqlite
import sqlalchemy as sa
from sqlalchemy import event, exc

from app.store import migrate
from app.store.index import live_index_enabled
from app.store.schema import APPLICATION_ID
from app.store.textindex import normalise, unigram_text

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_HEADER = b"SQLite format 3\x00"
MIN_SQLITE = (3, 51, 3)


class StoreError(Exception):
    """A problem with the local cache, said in words a duty officer can act on."""

    def __init__(self, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


class NotACacheError(StoreError):
    pass


class NewerSchemaError(StoreError):
    pass


class DiskFullError(StoreError):
    pass


class ReadOnlyError(StoreError):
    pass


def _set_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver must not open transactions on its own; SQLAlchemy's begin event does.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()
    # The search triggers call this on every write (app/store/textindex.py says why).
    dbapi_conn.create_function("cd_unigrams", 1, unigram_text, deterministic=True)
    dbapi_conn.create_function("cd_fold", 1, normalise, deterministic=True)
    dbapi_conn.create_function("cd_live_index", 0, live_index_enabled)


WRITER_CACHE_KIB = 64 * 1024


def _writer_cache(dbapi_conn: Any, _record: Any) -> None:
    # The pull swap inserts 100,000 rows in random key order into tables with several indexes;
    # with SQLite's default 2 MB page cache most inserts missed it and the swap ran 2-4x slower.
    # Pages are only allocated as used: a small cache costs no more than before.
    dbapi_conn.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")


def make_engine(path: Path | str, *, immediate: bool) -> sa.Engine:
    """An engine on the cache file; ``immediate`` makes every transaction take the write lock."""
    engine = sa.create_engine(f"sqlite:///{path}", module=sqlite, poolclass=sa.pool.QueuePool,
                              pool_size=4 if not immediate else 1, max_overflow=4)
    event.listen(engine, "connect", _set_pragmas)
    if immediate:
        event.listen(engine, "connect", _writer_cache)

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def check_cache_file(path: Path) -> None:
    """Refuse a file that is not ours or is damaged, without writing a byte to it."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb") as fh:
        header = fh.read(16)
    if header != SQLITE_HEADER:
        raise NotACacheError(
            f"文件 {path} 不是应急指挥台的本地数据库（文件未被改动）。",
            f"{path} is not a Command Desk cache (the file was left untouched).")
    try:
        conn = sqlite.connect(f"file:{path}?mode=ro", uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = None
            if "alembic_version" in tables:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                version = row[0] if row else None
        finally:
            conn.close()
    except sqlite.DatabaseError as e:
        raise NotACacheError(
            f"本地数据库 {path} 已损坏，无法打开（文件未被改动）：{e}",
            f"The cache {path} is damaged and cannot be opened (left untouched): {e}") from e
    if app_id != APPLICATION_ID and tables:
        raise NotACacheError(
            f"文件 {path} 是其他程序的数据库，不是应急指挥台的本地数据库（文件未被改动）。",
            f"{path} belongs to another program, not Command Desk (the file was left untouched).")
    if version is not None and version != migrate.HEAD and not migrate.is_known_revision(version):
        raise NewerSchemaError(
            f"本地数据库由更新版本的应急指挥台创建（版本 {version}），请升级本程序；数据库未被改动。",
            f"The cache was made by a newer Command Desk (schema {version}); "
            "please update this program. The file was not changed.")


def translate_error(e: BaseException) -> BaseException:
    """Map SQLite's failure codes onto errors the officer can act on."""
    text = str(getattr(e, "orig", e)).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return DiskFullError("磁盘已满，未保存。请清理磁盘空间后重试。",
                             "Disk full: NOT saved. Free some disk space and try again.")
    if "readonly" in text or "read-only" in text:
        return ReadOnlyError("本地数据库只读，未保存。", "The cache is read-only: NOT saved.")
    return e


class Store:
    """The local cache: one writer thread, reads on the caller's thread."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        check_cache_file(self.path)
        version = tuple(int(p) for p in sqlite.sqlite_version.split("."))
        if version < MIN_SQLITE:
            log.warning("SQLite %s is older than 3.51.3 (WAL-reset fix)", sqlite.sqlite_version)
        self._writer_engine = make_engine(self.path, immediate=True)
        self._reader_engine = make_engine(self.path, immediate=False)
        self._writer = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._writer_thread: threading.Thread | None = None
        self._writer.submit(self._note_writer_thread).result()
        self._writer.submit(self._migrate).result()

    def _note_writer_thread(self) -> None:
        self._writer_thread = threading.current_thread()

    def _migrate(self) -> None:
        with self._writer_engine.connect() as conn:
            # Alembic costs a quarter of a second to import: only when there is work for it.
            if migrate.current_fast(conn) != migrate.HEAD:
                migrate.upgrade(conn)
            conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
            conn.commit()

    # -- writing ---------------------------------------------------------------------------
    def _run_write(self, fn: Callable[..., T], args: tuple) -> T:
        try:
            with self._writer_engine.begin() as conn:
                return fn(conn, *args)
        except exc.OperationalError as e:
            raise translate_error(e) from e

    def write(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run ``fn(conn, *args)`` in one write transaction on the writer thread."""
        if threading.current_thread() is self._writer_thread:
            raise RuntimeError("nested write: call the function directly inside the transaction")
        return self._writer.submit(self._run_write, fn, args)

    def write_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return self.write(fn, *args).result()

    # -- reading ---------------------------------------------------------------------------
    def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in one read transaction (a consistent snapshot)."""
        with self._reader_engine.begin() as conn:
            return fn(conn, *args)

    def pragma(self, name: str) -> Any:
        with self._reader_engine.connect() as conn:
            return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._writer_engine.dispose()
        self._reader_engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
