"""Import and export of the resource libraries as CSV and XLSX (the sheets officers exchange).

An import is two steps. ``check_file`` reads the sheet and reports every bad row with
the reason (negative headcounts, impossible capacities, unknown enum values or units,
duplicate names within the library or the file, coordinates outside the district) and
writes nothing. ``write_rows`` then writes the accepted rows in ONE transaction through
``records.create`` (so they sync like any change); a cancel rolls the whole import back.

Headers may be the wire names, the Chinese labels or the English labels. Enum cells
may be the code or either label. Besides the seven libraries, the pseudo-library
``stock`` imports a stock sheet (warehouse, item, quantity, unit, expiry) as inbound
movements, checking each unit against the item's.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.entities import LIBRARIES, entity
from app.domain.validate import check_record, validate_record
from app.services.changes import ChangeSet
from app.services.context import AppContext
from app.services.resource_queries import Box, cross_rules, district_box, editable_fields
from app.services.spreadsheet import spreadsheet_cell
from app.services.stock import record_movement
from app.store import outbox as ob
from app.store import records
from app.store.index import bulk_indexing, index_entity_rows
from app.store.schema import outbox, table_for

STOCK = "stock"
IMPORTABLE = (*LIBRARIES, STOCK)

# (Chinese, English) label of every field a library sheet may carry.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("名称", "Name"), "type": ("类型", "Type"), "tier": ("层级", "Tier"),
    "headcount": ("人数", "Headcount"), "leader": ("负责人", "Leader"), "phone": ("电话", "Phone"),
    "base": ("驻地", "Base"), "specialities": ("专长", "Specialities"), "status": ("状态", "Status"),
    "lon": ("经度", "Longitude"), "lat": ("纬度", "Latitude"), "kind": ("类别", "Kind"),
    "area_m2": ("面积（㎡）", "Area (m²)"), "manager": ("管理人", "Manager"), "address": ("地址", "Address"),
    "capacity": ("容量（人）", "Capacity (people)"), "occupancy": ("已安置（人）", "Occupancy"),
    "quantity": ("数量", "Quantity"), "owner_unit": ("所属单位", "Owner unit"),
    "grade": ("风险等级", "Grade"), "sector": ("行业领域", "Sector"),
    "responsible_unit": ("责任单位", "Responsible unit"), "responsible_person": ("责任人", "Responsible person"),
    "description": ("描述", "Description"), "category": ("类别", "Category"),
    "speciality": ("专业特长", "Speciality"), "employer": ("工作单位", "Employer"),
    "unit": ("单位", "Unit"), "title": ("职务", "Title"), "role": ("角色", "Role"),
    "mobile": ("手机", "Mobile"), "radio_400": ("400M 电台", "400 MHz radio"),
    "radio_800": ("800M 电台", "800 MHz radio"), "sat_phone": ("卫星电话", "Satellite phone"),
    "updated_at": ("更新时间", "Updated at"), "updated_by_name": ("更新人", "Updated by"),
    "warehouse": ("仓库", "Warehouse"), "item": ("物资", "Item"), "expires_on": ("有效期至", "Expires on"),
}
STOCK_FIELDS = ("warehouse", "item", "quantity", "unit", "expires_on")


def label(field: str, lang: str = "zh") -> str:
    zh, en = FIELD_LABELS.get(field, (field, field))
    return zh if lang == "zh" else en


def sheet_fields(library: str) -> tuple[str, ...]:
    return STOCK_FIELDS if library == STOCK else editable_fields(library)


@dataclasses.dataclass(frozen=True)
class RowProblem:
    row: int  # 1-based sheet row (the header is row 1)
    field: str
    message_zh: str
    message_en: str

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


@dataclasses.dataclass
class ImportCheck:
    library: str
    total: int
    good: list[tuple[int, dict[str, Any]]]  # (sheet row, record)
    problems: list[RowProblem]
    unknown_headers: list[str] = dataclasses.field(default_factory=list)

    @property
    def bad_rows(self) -> int:
        return len({p.row for p in self.problems})


class Cancelled(Exception):
    """The officer cancelled a long import or export; nothing was written."""


Progress = Callable[[int, int], None]  # (done, total)


def _tick(progress: Progress | None, cancel: Callable[[], bool] | None, done: int, total: int) -> None:
    if cancel is not None and cancel():
        raise Cancelled()
    if progress is not None and (done % 500 == 0 or done == total):
        progress(done, total)


# ---- Reading sheets -------------------------------------------------------------------------

def read_sheet(path: Path) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a .csv (UTF-8, with or without BOM; GB18030 as a fallback) or .xlsx."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            it = wb.worksheets[0].iter_rows(values_only=True)
            header = [str(c).strip() if c is not None else "" for c in next(it, ())]
            rows = [list(r) for r in it if any(c not in (None, "") for c in r)]
        finally:
            wb.close()
        return header, rows
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with open(path, encoding=encoding, newline="") as fh:
                data = list(csv.reader(fh))
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ValueError("unreadable text encoding")
    if not data:
        return [], []
    return [h.strip() for h in data[0]], [r for r in data[1:] if any(c.strip() for c in r)]


def _header_map(library: str, header: Sequence[str]) -> tuple[dict[int, str], list[str]]:
    fields = sheet_fields(library)
    names: dict[str, str] = {}
    for f in fields:
        zh, en = FIELD_LABELS.get(f, (f, f))
        for key in (f, zh, en):
            names[key.strip().lower()] = f
    mapping, unknown = {}, []
    for i, h in enumerate(header):
        f = names.get(h.strip().lower())
        if f is None:
            if h.strip():
                unknown.append(h)
        else:
            mapping[i] = f
    return mapping, unknown


def _enum_lookup(enum_cls) -> dict[str, str]:
    out = {}
    for m in enum_cls:
        for key in (m.value, m.zh, m.en):
            out[key.strip().lower()] = m.value
    return out


def _convert(kind: Any, raw: Any, enum_map: dict[str, str] | None) -> tuple[Any, tuple[str, str] | None]:
    """(value, problem) for one cell; a problem is (zh, en)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if enum_map is not None:
        code = enum_map.get(str(raw).strip().lower())
        if code is None:
            return None, (f"未知的取值“{raw}”", f"unknown value {raw!r}")
        return code, None
    if kind == "int":
        try:
            f = float(str(raw).strip()) if not isinstance(raw, (int, float)) else float(raw)
        except ValueError:
            return None, (f"“{raw}”不是整数", f"{raw!r} is not a whole number")
        if not math.isfinite(f) or f != int(f):  # "nan"/"inf" parse as floats but are no count
            return None, (f"“{raw}”不是整数", f"{raw!r} is not a whole number")
        return int(f), None
    if kind == "float":
        try:
            f = float(str(raw).strip()) if not isinstance(raw, (int, float)) else float(raw)
            if not math.isfinite(f):
                return None, (f"“{raw}”不是有效数值", f"{raw!r} is not a finite number")
            return f, None
        except ValueError:
            return None, (f"“{raw}”不是数字", f"{raw!r} is not a number")
    if kind == "bool":
        text = str(raw).strip().lower()
        if text in ("1", "true", "是", "yes", "y"):
            return True, None
        if text in ("0", "false", "否", "no", "n"):
            return False, None
        return None, (f"“{raw}”应为是/否", f"{raw!r} should be yes or no")
    if kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date().isoformat(), None
        if isinstance(raw, dt.date):
            return raw.isoformat(), None
        text = str(raw).strip().replace("/", "-")
        try:
            return dt.date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, (f"“{raw}”不是日期（如 2026-05-01）", f"{raw!r} is not a date (e.g. 2026-05-01)")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a phone number typed into Excel comes back as 13800138000.0
    return str(raw).strip(), None


def _existing_names(conn: sa.Connection, library: str) -> set[str]:
    t = table_for(library)
    return set(conn.execute(sa.select(t.c.name).where(t.c.deleted.is_(False))).scalars())


# ---- Checking ---------------------------------------------------------------------------------

def check_rows(conn: sa.Connection, library: str, header: Sequence[str], rows: Sequence[Sequence[Any]], *,
               progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> ImportCheck:
    """Every problem of every row; nothing is written."""
    if library not in IMPORTABLE:
        raise KeyError(library)
    mapping, unknown = _header_map(library, header)
    if library == STOCK:
        return _check_stock(conn, mapping, unknown, rows, progress, cancel)
    ent = entity(library)
    kinds = {f.name: f for f in ent.fields}
    enums = {f.name: _enum_lookup(f.enum) for f in ent.fields if f.enum is not None}
    box: Box | None = district_box(conn)
    existing = _existing_names(conn, library)
    seen: dict[str, int] = {}
    good, problems = [], []
    missing = [f for f in ent.required if f not in mapping.values() and f not in HIDDEN_DEFAULTS.get(library, {})]
    for n, raw in enumerate(rows):
        sheet_row = n + 2
        _tick(progress, cancel, n, len(rows))
        data: dict[str, Any] = dict(HIDDEN_DEFAULTS.get(library, {}))
        row_problems: list[RowProblem] = []
        for i, field in mapping.items():
            value, problem = _convert(kinds[field].kind if field not in enums else None,
                                      raw[i] if i < len(raw) else None, enums.get(field))
            if problem:
                row_problems.append(RowProblem(sheet_row, field, *problem))
            elif value is not None:
                data[field] = value
        if library == "shelter" and "capacity" not in data and isinstance(data.get("area_m2"), float):
            from app.services.resource_queries import max_capacity

            data["capacity"] = max_capacity(data["area_m2"])  # the standard: area ÷ 1.5 m²
        bad_fields = {p.field for p in row_problems}
        for p in check_record(ent, data) + cross_rules(library, data, box):
            if p.field not in bad_fields:
                row_problems.append(RowProblem(sheet_row, p.field, p.message_zh, p.message_en))
        name = data.get("name")
        if isinstance(name, str) and name:
            if name in existing:
                row_problems.append(RowProblem(sheet_row, "name", f"“{name}”已在库中",
                                               f"{name!r} is already in the library"))
            elif name in seen:
                row_problems.append(RowProblem(sheet_row, "name", f"与第 {seen[name]} 行重名",
                                               f"same name as row {seen[name]}"))
            else:
                seen[name] = sheet_row
        if row_problems:
            problems.extend(row_problems)
        else:
            good.append((sheet_row, data))
    _tick(progress, cancel, len(rows), len(rows))
    for f in missing:
        problems.insert(0, RowProblem(1, f, f"缺少必填列“{label(f)}”",
                                      f"the required column {label(f, 'en')!r} is missing"))
    return ImportCheck(library, len(rows), good, problems, unknown)


# Values a sheet need not carry: a new shelter starts closed and empty.
HIDDEN_DEFAULTS: dict[str, dict[str, Any]] = {"shelter": {"occupancy": 0, "status": "closed"}}


def _check_stock(conn: sa.Connection, mapping: dict[int, str], unknown: list[str], rows: Sequence[Sequence[Any]],
                 progress: Progress | None, cancel: Callable[[], bool] | None) -> ImportCheck:
    w, it = table_for("warehouse"), table_for("supply_item")
    warehouses = dict(conn.execute(sa.select(w.c.name, w.c.id).where(w.c.deleted.is_(False))).all())
    items = {r.name: (r.id, r.unit or "") for r in conn.execute(
        sa.select(it.c.name, it.c.id, it.c.unit).where(it.c.deleted.is_(False)))}
    kinds = {"warehouse": "str", "item": "str", "quantity": "int", "unit": "str", "expires_on": "date"}
    good, problems = [], []
    for n, raw in enumerate(rows):
        sheet_row = n + 2
        _tick(progress, cancel, n, len(rows))
        cells: dict[str, Any] = {}
        row_problems: list[RowProblem] = []
        for i, field in mapping.items():
            value, problem = _convert(kinds[field], raw[i] if i < len(raw) else None, None)
            if problem:
                row_problems.append(RowProblem(sheet_row, field, *problem))
            else:
                cells[field] = value
        wid = warehouses.get(cells.get("warehouse") or "")
        if wid is None:
            row_problems.append(RowProblem(sheet_row, "warehouse", f"没有名为“{cells.get('warehouse') or ''}”的仓库",
                                           f"no warehouse named {cells.get('warehouse')!r}"))
        item = items.get(cells.get("item") or "")
        if item is None:
            row_problems.append(RowProblem(sheet_row, "item", f"物资目录中没有“{cells.get('item') or ''}”",
                                           f"{cells.get('item')!r} is not in the supply catalogue"))
        elif cells.get("unit") and cells["unit"] != item[1]:
            unit, name = cells["unit"], cells["item"]
            row_problems.append(RowProblem(sheet_row, "unit", f"单位“{unit}”不对，{name}以“{item[1]}”计",
                                           f"unknown unit {unit!r}: {name} is counted in {item[1]!r}"))
        q = cells.get("quantity")
        if "quantity" not in {p.field for p in row_problems} and (not isinstance(q, int) or q <= 0):
            row_problems.append(RowProblem(sheet_row, "quantity", "入库数量必须是正整数",
                                           "the quantity must be a positive whole number"))
        if row_problems:
            problems.extend(row_problems)
        else:
            good.append((sheet_row, {"warehouse_id": wid, "item_id": item[0], "delta": q,
                                     "expires_on": cells.get("expires_on")}))
    _tick(progress, cancel, len(rows), len(rows))
    return ImportCheck(STOCK, len(rows), good, problems, unknown)


def check_file(conn: sa.Connection, library: str, path: Path, *, progress: Progress | None = None,
               cancel: Callable[[], bool] | None = None) -> ImportCheck:
    header, rows = read_sheet(path)
    return check_rows(conn, library, header, rows, progress=progress, cancel=cancel)


# ---- Writing ----------------------------------------------------------------------------------

def bulk_create(conn: sa.Connection, entity_name: str, rows: Sequence[dict[str, Any]], *, author_id: str | None,
                now: str, progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                chunk: int = 1000) -> list[str]:
    """``records.create`` for many rows at once: the same record and the same outbox mutation per row
    (op "create", the fields as payload, gap-free device_seq), written with executemany, and the
    search index filled set-based afterwards. Inside the caller's write transaction."""
    table = table_for(entity_name)
    ids: list[str] = []
    seq = ob.next_device_seq(conn)
    total = len(rows)
    with bulk_indexing():
        for start in range(0, total, chunk):
            _tick(progress, cancel, start, total)
            part = rows[start:start + chunk]
            recs, muts = [], []
            for data in part:
                fields = {k: v for k, v in data.items() if k != "id"}
                validate_record(entity(entity_name), fields)
                rid = records.new_id()
                ids.append(rid)
                recs.append({"id": rid, **fields, "created_at": now, "updated_at": now, "created_by": author_id,
                             "updated_by": author_id})
                muts.append({"mutation_id": records.new_id(), "device_seq": seq, "entity": entity_name,
                             "entity_id": rid, "op": "create", "payload": fields, "base_rev": None,
                             "author_id": author_id, "client_time": now, "schema_version": ob.SCHEMA_VERSION,
                             "status": ob.PENDING})
                seq += 1
            keys = set().union(*recs)  # executemany binds the same columns for every row
            conn.execute(table.insert(), [{k: r.get(k) for k in keys} for r in recs])
            conn.execute(outbox.insert(), muts)
        index_entity_rows(conn, entity_name)
    ob.rechain(conn)  # link the rows into the device's hash chain now, not on every push batch
    _tick(progress, cancel, total, total)
    return ids


def write_rows(ctx: AppContext, check: ImportCheck, *, progress: Progress | None = None,
               cancel: Callable[[], bool] | None = None) -> list[str]:
    """Write the accepted rows in one transaction (all or nothing); returns the new ids."""
    author = ctx.user.id if ctx.user else None
    total = len(check.good)

    def run(conn: sa.Connection) -> list[str]:
        now = clock.now_iso()
        if check.library != STOCK:
            return bulk_create(conn, check.library, [d for _, d in check.good], author_id=author, now=now,
                               progress=progress, cancel=cancel)
        ids = []
        for n, (_row, data) in enumerate(check.good):
            _tick(progress, cancel, n, total)
            ids.append(record_movement(conn, warehouse_id=data["warehouse_id"], item_id=data["item_id"],
                                       delta=data["delta"], reason="inbound", author_id=author, now=now,
                                       expires_on=data.get("expires_on"), note="表格导入入库"))
        _tick(progress, cancel, total, total)
        return ids

    ids = ctx.store.write_sync(run)
    ctx.publish(ChangeSet.of("stock_movement" if check.library == STOCK else check.library, ids))
    return ids


# ---- Export -----------------------------------------------------------------------------------

def export_table(conn: sa.Connection, library: str, ids: Iterable[str] | None = None,
                 lang: str = "zh") -> tuple[list[str], list[list[Any]]]:
    """Header (labels) and rows of a library, every editable field plus who updated it and when.

    Enum cells carry the label in ``lang``; an import reads labels back, so an export round-trips.
    """
    fields = editable_fields(library) + ("updated_at", "updated_by_name")
    ent = entity(library)
    enums = {f.name: f.enum for f in ent.fields if f.enum is not None}
    t, u = table_for(library), table_for("user")
    names = dict(conn.execute(sa.select(u.c.id, u.c.name)).all())
    q = sa.select(t).where(t.c.deleted.is_(False)).order_by(t.c.name)
    if ids is not None:
        q = q.where(t.c.id.in_(list(ids)))
    rows = []
    for r in conn.execute(q).mappings():
        out = []
        for f in fields:
            v = names.get(r["updated_by"], r["updated_by"]) if f == "updated_by_name" else r[f]
            if f in enums and v in enums[f].codes():
                v = enums[f](v).label(lang)
            out.append(v)
        rows.append(out)
    return [label(f, lang) for f in fields], rows


def write_sheet(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a .csv (UTF-8 with BOM, for Excel in Chinese) or .xlsx; returns the row count."""
    path = Path(path)
    n = 0
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet()
        ws.append(list(header))
        for r in rows:
            ws.append([spreadsheet_cell(v) if isinstance(v, str) else v for v in r])
            n += 1
        wb.save(path)
        return n
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r in rows:
            writer.writerow([spreadsheet_cell(v) for v in r])
            n += 1
    return n


def export_library(conn: sa.Connection, library: str, path: Path, ids: Iterable[str] | None = None,
                   lang: str = "zh") -> int:
    header, rows = export_table(conn, library, ids, lang)
    return write_sheet(path, header, rows)
