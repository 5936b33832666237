"""The overview's figures computed straight in SQL, independently of app.services.overview."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

QUERIES = {
    "open_incidents": "SELECT count(*) FROM incident WHERE deleted = 0 AND (drill IS NULL OR drill = 0) "
                      "AND status IN ('reported','verified','responding')",
    "responding": "SELECT count(*) FROM incident WHERE deleted = 0 AND (drill IS NULL OR drill = 0) "
                  "AND status = 'responding'",
    "teams": "SELECT count(*) FROM team WHERE deleted = 0 AND status = 'standby'",
    "dispatched": "SELECT count(*) FROM team WHERE deleted = 0 "
                  "AND status IN ('dispatched','on_scene','returning')",
    "shelters": "SELECT count(*) FROM shelter WHERE deleted = 0 AND status IN ('open','full')",
    "spare": "SELECT coalesce(sum(capacity - coalesce(occupancy, 0)), 0) FROM shelter "
             "WHERE deleted = 0 AND status = 'open'",
    "warnings": "SELECT count(*) FROM warning WHERE deleted = 0 AND status IN ('issued','updated')",
    "risk_major": "SELECT count(*) FROM risk_source WHERE deleted = 0 AND grade IN ('red','orange')",
    "below_min": """
        SELECT count(*) FROM (SELECT item_id, sum(delta) AS q FROM stock_movement
                              WHERE deleted = 0 AND (drill IS NULL OR drill = 0)
                              GROUP BY warehouse_id, item_id) s
        JOIN supply_item i ON i.id = s.item_id WHERE i.min_level IS NOT NULL AND s.q < i.min_level""",
    # One alert per (warehouse, item) holding a batch that expires in the next 30 days.
    "expiring": "SELECT count(DISTINCT warehouse_id || '/' || item_id) FROM stock_movement "
                "WHERE deleted = 0 AND delta > 0 AND expires_on >= :today AND expires_on <= :horizon",
}


def sql_counts(conn: sa.Connection, today: dt.date) -> dict[str, int]:
    params = {"today": today.isoformat(), "horizon": (today + dt.timedelta(days=30)).isoformat()}
    counts = {k: int(conn.execute(sa.text(q), params).scalar() or 0) for k, q in QUERIES.items()}
    counts["stock_alerts"] = counts["below_min"] + counts["expiring"]
    return counts
