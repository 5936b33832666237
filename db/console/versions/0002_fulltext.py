"""full-text search over the log, incidents and resources (trigram + CJK unigram)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

The searchable columns are written out here, frozen, rather than read from the
catalogue, so this migration does the same thing whenever it runs. Triggers keep
the index in step with every write, local or pulled. The functions cd_unigrams
and cd_fold
(NFKC folding, so ＡＢＣ and ；matches ABC and ;) are registered on every connection by
app.store.db, as is cd_live_index(): bulk paths (the pull swap) switch the row
triggers off and index set-based instead, because FTS5 inserts made from a
trigger run about four times slower than the same inserts made directly.
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEARCHABLE = {
    "org_unit": ["name"], "handover": ["notes"], "duty_log_entry": ["body"],
    "incident": ["title", "place", "summary"], "incident_report": ["body"], "instruction": ["body"],
    "team": ["name", "leader", "base", "specialities"], "warehouse": ["name", "address"],
    "supply_item": ["name"], "shelter": ["name", "address"], "equipment": ["name", "owner_unit"],
    "expert": ["name", "speciality", "employer"], "contact": ["name", "unit"],
    "risk_source": ["name", "responsible_unit"], "warning": ["title", "body"], "plan": ["title"],
    "consultation": ["title", "minutes"],
}


def _text(prefix: str, cols: list[str]) -> str:
    return " || ' ' || ".join(f"coalesce({prefix}.{c}, '')" for c in cols)


def _ref(entity: str, prefix: str) -> str:
    return f"(SELECT rowid FROM search_ref WHERE entity = '{entity}' AND ref_id = {prefix}.id)"


def upgrade() -> None:
    op.execute("CREATE TABLE search_ref (rowid INTEGER PRIMARY KEY, entity TEXT NOT NULL, "
               "ref_id TEXT NOT NULL, UNIQUE (entity, ref_id))")
    op.execute("CREATE VIRTUAL TABLE search_doc USING fts5(text, tokenize='trigram')")
    op.execute("CREATE VIRTUAL TABLE search_uni USING fts5(text, content='', contentless_delete=1, "
               "tokenize='unicode61 remove_diacritics 2')")
    for entity, cols in SEARCHABLE.items():
        # Inside the insert trigger last_insert_rowid() is the search_ref row just made, and the
        # search_doc row inserted with that same rowid leaves it unchanged for the third insert.
        new_text, ref = _text("new", cols), _ref(entity, "new")
        op.execute(f"""
            CREATE TRIGGER {entity}_search_ins AFTER INSERT ON {entity} WHEN cd_live_index() BEGIN
              INSERT INTO search_ref (entity, ref_id) VALUES ('{entity}', new.id);
              INSERT INTO search_doc (rowid, text) VALUES (last_insert_rowid(), cd_fold({new_text}));
              INSERT INTO search_uni (rowid, text) VALUES (last_insert_rowid(), cd_unigrams({new_text}));
            END""")
        op.execute(f"""
            CREATE TRIGGER {entity}_search_upd AFTER UPDATE OF {", ".join(cols)} ON {entity}
              WHEN cd_live_index() BEGIN
              DELETE FROM search_doc WHERE rowid = {ref};
              DELETE FROM search_uni WHERE rowid = {ref};
              INSERT INTO search_doc (rowid, text) VALUES ({ref}, cd_fold({new_text}));
              INSERT INTO search_uni (rowid, text) VALUES ({ref}, cd_unigrams({new_text}));
            END""")
        old_ref = _ref(entity, "old")
        op.execute(f"""
            CREATE TRIGGER {entity}_search_del AFTER DELETE ON {entity} BEGIN
              DELETE FROM search_doc WHERE rowid = {old_ref};
              DELETE FROM search_uni WHERE rowid = {old_ref};
              DELETE FROM search_ref WHERE entity = '{entity}' AND ref_id = old.id;
            END""")
        # Rows written before this revision existed (an older cache being upgraded).
        op.execute(f"INSERT INTO search_ref (entity, ref_id) SELECT '{entity}', id FROM {entity}")
        op.execute(f"INSERT INTO search_doc (rowid, text) SELECT r.rowid, cd_fold({_text('t', cols)}) "
                   f"FROM {entity} t JOIN search_ref r ON r.entity = '{entity}' AND r.ref_id = t.id")
        op.execute(f"INSERT INTO search_uni (rowid, text) SELECT r.rowid, cd_unigrams({_text('t', cols)}) "
                   f"FROM {entity} t JOIN search_ref r ON r.entity = '{entity}' AND r.ref_id = t.id")


def downgrade() -> None:
    for entity in SEARCHABLE:
        for suffix in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER IF EXISTS {entity}_search_{suffix}")
    op.execute("DROP TABLE search_uni")
    op.execute("DROP TABLE search_doc")
    op.execute("DROP TABLE search_ref")
