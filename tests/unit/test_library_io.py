"""Import/export of the libraries: every bad row reported with its reason; nothing half-saved."""

from __future__ import annotations

import csv

import openpyxl
import pytest
import sqlalchemy as sa
from test_stock_seed import seed

from app.services import library_io as io
from app.services.stock import StockLedger
from app.store.schema import outbox, table_for


def _count(store, entity):
    t = table_for(entity)
    return store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t)).scalar())


def _write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _write_xlsx(path, header, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


TEAM_HEADER = ["名称", "类型", "人数", "状态", "经度", "纬度", "负责人"]


def test_team_import_reports_every_bad_row_and_writes_nothing_before_accepting(store, tmp_path):
    s = seed(store)
    rows = [
        ["东山街抢险队", "兼职队伍", 25, "备勤", 113.29, 23.12, "王五"],  # good (Chinese labels)
        ["负数队", "part_time", -3, "standby", 113.29, 23.12, ""],  # negative headcount
        ["越秀区消防救援队", "fire", 30, "standby", 113.25, 23.13, ""],  # already in the library
        ["东山街抢险队", "part_time", 10, "standby", 113.29, 23.12, ""],  # duplicate within the file
        ["番禺队", "part_time", 10, "standby", 113.40, 22.95, ""],  # outside the district
        ["怪队", "ninja", 10, "standby", 113.29, 23.12, ""],  # unknown enum value
        ["空人数队", "part_time", "abc", "standby", 113.29, 23.12, ""],  # not a number
    ]
    path = _write_xlsx(tmp_path / "teams.xlsx", TEAM_HEADER, rows)
    before = _count(store, "team")
    check = store.read(io.check_file, "team", path)
    assert check.total == 7 and [r for r, _ in check.good] == [2]
    by_row = {(p.row, p.field): p for p in check.problems}
    assert by_row[(3, "headcount")].message_zh == "不能为负数"
    assert "已在库中" in by_row[(4, "name")].message_zh
    assert "与第 2 行重名" in by_row[(5, "name")].message_zh
    assert by_row[(6, "lon")].message_en == "the coordinates are outside the district"
    assert "ninja" in by_row[(7, "type")].message_zh
    assert "abc" in by_row[(8, "headcount")].message_zh
    assert _count(store, "team") == before  # checking writes nothing
    ids = io.write_rows(s.ctx, check)
    assert len(ids) == 1 and _count(store, "team") == before + 1
    queued = store.read(lambda c: c.execute(sa.select(outbox.c.op).where(outbox.c.entity_id == ids[0])).scalars()
                        .all())
    assert queued == ["create"]  # imported rows sync like any change


def test_shelter_capacity_defaults_to_area_and_impossible_capacity_is_refused(store, tmp_path):
    seed(store)
    path = _write_csv(tmp_path / "shelters.csv", ["名称", "面积（㎡）", "容量（人）", "经度", "纬度"], [
        ["小学操场", "3000", "", "113.28", "23.12"],
        ["广场", "300", "5000", "113.28", "23.12"],
        ["无面积", "-5", "", "113.28", "23.12"],
    ])
    check = store.read(io.check_file, "shelter", path)
    assert [(r, d["capacity"], d["status"]) for r, d in check.good] == [(2, 2000, "closed")]
    fields = {(p.row, p.field) for p in check.problems}
    assert (3, "capacity") in fields and (4, "area_m2") in fields


def test_a_cancelled_import_leaves_nothing(store, tmp_path):
    s = seed(store)
    rows = [[f"联系人{i}", "区应急局", "13800138000"] for i in range(1200)]
    path = _write_csv(tmp_path / "contacts.csv", ["名称", "单位", "电话"], rows)
    check = store.read(io.check_file, "contact", path)
    assert len(check.good) == 1200
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 1  # the first chunk of 1,000 rows is written, then the officer cancels

    with pytest.raises(io.Cancelled):
        io.write_rows(s.ctx, check, cancel=cancel)
    assert _count(store, "contact") == 0
    assert store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(outbox).where(
        outbox.c.entity == "contact")).scalar()) == 0


def test_stock_import_checks_units_and_writes_inbound_movements(store, tmp_path):
    s = seed(store)
    path = _write_xlsx(tmp_path / "stock.xlsx", ["仓库", "物资", "数量", "单位", "有效期至"], [
        ["越秀区应急物资储备库", "帐篷", 12, "顶", "2027-06-30"],
        ["越秀区应急物资储备库", "矿泉水", 5, "吨", None],  # unknown unit
        ["不存在的库", "帐篷", 3, "顶", None],
        ["越秀区应急物资储备库", "帐篷", -2, "顶", None],
    ])
    check = store.read(io.check_file, "stock", path)
    assert [r for r, _ in check.good] == [2]
    fields = {(p.row, p.field) for p in check.problems}
    assert fields == {(3, "unit"), (4, "warehouse"), (5, "quantity")}
    io.write_rows(s.ctx, check)
    assert StockLedger(s.ctx).levels() == {(s.wh_a, s.tents): 12}


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_export_round_trips_through_import(store, tmp_path, suffix):
    seed(store)
    path = tmp_path / f"experts.{suffix}"
    n = store.read(io.export_library, "expert", path)
    assert n == 6
    header, rows = io.read_sheet(path)
    assert header[:3] == ["名称", "类别", "专业特长"] and "更新人" in header
    assert {r[1] for r in rows} == {"自然灾害类", "安全生产类"}
    assert rows[0][header.index("更新人")] == "张三"
    check = store.read(io.check_file, "expert", path)
    # Every row is already in the library: the check says so instead of importing twins.
    assert check.good == [] and {p.field for p in check.problems} == {"name"}


def test_missing_required_column_is_reported(store, tmp_path):
    seed(store)
    path = _write_csv(tmp_path / "eq.csv", ["类型", "数量"], [["水泵", "3"]])
    check = store.read(io.check_file, "equipment", path)
    assert any(p.row == 1 and p.field == "name" for p in check.problems)
    assert check.good == []


def test_bulk_create_writes_what_records_create_writes(store):
    from app.store import records
    from app.store.search import search

    s = seed(store)
    data = {"name": "批量导入联系人", "unit": "越秀区应急管理局", "phone": "020-12345678"}

    def run(conn):
        one = records.create(conn, "contact", dict(data, name="逐条联系人"), author_id=s.ctx.user.id, now="T")
        many = io.bulk_create(conn, "contact", [data], author_id=s.ctx.user.id, now="T")
        return one, many[0]
    one, bulk = store.write_sync(run)
    rows = store.read(lambda c: {r.entity_id: r for r in c.execute(sa.select(outbox).where(
        outbox.c.entity_id.in_([one, bulk])))})
    assert (rows[one].op, rows[one].status, rows[one].schema_version) == (rows[bulk].op, rows[bulk].status,
                                                                         rows[bulk].schema_version)
    assert rows[bulk].payload == data and rows[bulk].device_seq == rows[one].device_seq + 1
    rec_one, rec_bulk = store.read(records.get, "contact", one), store.read(records.get, "contact", bulk)
    assert {k for k, v in rec_one.items() if v is not None} == {k for k, v in rec_bulk.items() if v is not None}
    assert [h.id for h in store.read(search, "批量导入", ["contact"])] == [bulk]  # indexed for search


def test_nan_and_inf_are_one_rows_problem_not_a_failed_check(store, tmp_path):
    seed(store)
    path = _write_csv(tmp_path / "teams.csv", TEAM_HEADER, [
        ["甲队", "part_time", "nan", "standby", 113.29, 23.12, ""],
        ["乙队", "part_time", 12, "standby", "inf", 23.12, ""],
        ["丙队", "part_time", 12, "standby", 113.29, 23.12, ""],
    ])
    check = store.read(io.check_file, "team", path)
    assert [r for r, _ in check.good] == [4]
    assert {(p.row, p.field) for p in check.problems} >= {(2, "headcount"), (3, "lon")}
