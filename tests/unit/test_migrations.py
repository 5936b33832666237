"""An older cache upgrades on start and keeps (and indexes) what it held."""

import uuid

import sqlalchemy as sa

from app.store import migrate
from app.store.db import Store, make_engine
from app.store.schema import APPLICATION_ID
from app.store.search import search


def test_cache_made_by_revision_0001_upgrades_to_head_with_its_rows_searchable(tmp_path):
    path = tmp_path / "old.db"
    engine = make_engine(path, immediate=True)
    entry_id, incident_id = str(uuid.uuid4()), str(uuid.uuid4())
    with engine.connect() as conn:
        migrate.upgrade(conn, "0001")
        conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")  # as Store stamps every cache
        assert migrate.current(conn) == "0001"
        conn.execute(sa.text("INSERT INTO duty_log_entry (id, kind, body, occurred_at, deleted) "
                             "VALUES (:i, 'receive', '越秀区北京街接报火灾', '2026-11-01T08:00:00+08:00', 0)"),
                     {"i": entry_id})
        conn.execute(sa.text("INSERT INTO incident (id, title, category, severity, status, occurred_at, "
                             "deleted) VALUES (:i, '11·1 北京街火灾', 'accident', 'IV', 'reported', "
                             "'2026-11-01T08:00:00+08:00', 0)"), {"i": incident_id})
        conn.commit()
    engine.dispose()

    with Store(path) as store:
        assert store.read(migrate.current) == migrate.head()
        assert {h.id for h in store.read(search, "火灾")} == {entry_id, incident_id}
        assert [h.id for h in store.read(search, "接报")] == [entry_id]
        assert store.read(lambda c: c.exec_driver_sql(
            "SELECT body FROM duty_log_entry WHERE id = ?", (entry_id,)).scalar()) == "越秀区北京街接报火灾"


def test_the_fast_head_constant_names_alembics_head():
    assert migrate.HEAD == migrate.head()


def test_cache_at_0003_upgrades_to_0004_with_a_report_signoff_table_like_the_catalogues(tmp_path):
    path = tmp_path / "old3.db"
    engine = make_engine(path, immediate=True)
    report_id, incident_id = str(uuid.uuid4()), str(uuid.uuid4())
    with engine.connect() as conn:
        migrate.upgrade(conn, "0003")
        conn.exec_driver_sql(f"PRAGMA application_id={APPLICATION_ID}")
        assert migrate.current(conn) == "0003"
        assert conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'report_signoff'").first() is None
        conn.execute(sa.text("INSERT INTO incident_report (id, incident_id, kind, seq, body, deleted) "
                             "VALUES (:i, :inc, 'first', 1, '首报正文', 0)"), {"i": report_id, "inc": incident_id})
        conn.commit()
    engine.dispose()

    from app.domain.clock import now_iso
    from app.services.reporting import load_report
    from app.store import records
    from app.store.schema import table_for

    with Store(path) as store:
        assert store.read(migrate.current) == migrate.head()  # 0004, and every later revision
        cols = store.read(lambda c: {r[1] for r in c.exec_driver_sql("PRAGMA table_info(report_signoff)")})
        assert cols == {c.name for c in table_for("report_signoff").columns}
        indexes = store.read(lambda c: {r[1] for r in c.exec_driver_sql("PRAGMA index_list(report_signoff)")})
        assert {"ix_report_signoff_report_id", "ix_report_signoff_incident_id", "ix_report_signoff_server_rev",
                "ix_report_signoff_org_unit_id"} <= indexes
        assert store.read(load_report, report_id).awaiting  # the old row is there, awaiting 签发
        store.write_sync(lambda c: records.create(c, "report_signoff", {
            "report_id": report_id, "signed_by": str(uuid.uuid4()), "signed_at": now_iso(), "decision": "approved"},
            author_id=None, now=now_iso()))
        assert store.read(load_report, report_id).counted
