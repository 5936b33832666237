"""PDF export of a report and of the daily duty report (值班日报): the file exists, has pages, says its title.

The text is read back from the PDF itself: the content streams are inflated and each
glyph is mapped through the ToUnicode CMap of its font (no pdftotext or QtPdf here).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zlib

import pytest
from shiboken6 import isValid

from app.domain import clock
from app.services import reporting as R
from app.services.context import SignedInUser
from app.store import records
from app.ui.bus_adapter import ChangeBridge
from app.ui.docks import PanelHost
from app.ui.incidents.panel import IncidentsPanel, export_daily_pdf, export_report_pdf
from app.ui.incidents.pdf import write_pdf
from app.ui.selection import Selection

# Qt's ToUnicode maps a glyph shared by a radical and an ideograph to the radical: fold both back.
RADICALS = str.maketrans(dict(zip("⻛⻚⻓⺠⻅⻋⻔⻢⻜⻥⻦⻩⻬⻮⻉⻰⺟⻘⻄⻆",
                                  "风页长民见车门马飞鱼鸟黄齐齿贝龙母青西角", strict=True)))


def fold(text: str) -> str:
    """NFKC (Kangxi radicals, full-width punctuation), the radicals above, tabs as spaces."""
    return unicodedata.normalize("NFKC", text).translate(RADICALS).replace("\t", " ")


LEADER = SignedInUser(id="00000000-0000-4000-8000-0000000000b1", username="lm", name="李明", role="leader")


def _objects(data: bytes) -> dict[int, bytes]:
    out = {}
    for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", data, re.S):
        body = m.group(2)
        s = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
        if s:
            raw = s.group(1)
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                pass
            body = body[:s.start()] + b"stream\n" + raw
        out[int(m.group(1))] = body
    return out

def _cmap(text: bytes) -> dict[int, str]:
    table = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            table[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, rest in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[[^\]]*\]|<[0-9A-Fa-f]+>)", block):
            lo, hi = int(lo, 16), int(hi, 16)
            if rest.startswith(b"["):
                for i, dst in enumerate(re.findall(rb"<([0-9A-Fa-f]+)>", rest)):
                    table[lo + i] = bytes.fromhex(dst.decode()).decode("utf-16-be")
            else:
                base = int(rest[1:-1], 16)
                for i in range(hi - lo + 1):
                    table[lo + i] = chr(base + i)
    return table

def pdf_text(path) -> str:
    """The PDF's text, folded (see ``fold``)."""
    objs = _objects(open(path, "rb").read())
    fonts = {}
    for num, body in objs.items():
        m = re.search(rb"/ToUnicode (\d+) 0 R", body)
        if m and b"/Font" in body:
            fonts[num] = _cmap(objs[int(m.group(1))])
    names = {}
    for body in objs.values():
        for name, num in re.findall(rb"/(F\d+) (\d+) 0 R", body):
            if int(num) in fonts:
                names[name] = fonts[int(num)]
    out = []
    for body in objs.values():
        if b"BT" not in body or b"Tj" not in body:
            continue
        cmap = {}
        for tok in re.finditer(rb"/(F\d+) [\d.]+ Tf|<([0-9A-Fa-f]+)> Tj|(BT)", body):
            if tok.group(1):
                cmap = names.get(tok.group(1), {})
            elif tok.group(2):
                h = tok.group(2).decode()
                out.append("".join(cmap.get(int(h[i:i + 4], 16), "?") for i in range(0, len(h), 4)))
            else:
                out.append("\n")
    return fold("".join(out))


def page_count(path) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", open(path, "rb").read()))


@pytest.fixture
def incident(ctx):
    t = clock.now() - dt.timedelta(minutes=20)
    data = dict(title="11·23东风中路燃气泄漏", category="accident", subtype="燃气泄漏", severity="II",
                status="responding", occurred_at=clock.iso(t.replace(microsecond=0)), place="东风中路", injured=2)
    return ctx.store.write_sync(lambda c: records.create(c, "incident", data, author_id=ctx.user.id, now=clock.iso(t)))


def test_report_pdf_has_its_title_body_and_page_numbers(qapp, ctx, incident, tmp_path):
    ctx.user = LEADER
    rid = R.compose_report(ctx, incident, "first", "首报正文：已关闭燃气总阀，疏散群众 30 人。")
    path = tmp_path / "report.pdf"
    assert export_report_pdf(ctx.read, rid, path) == 1
    assert path.read_bytes().startswith(b"%PDF") and page_count(path) == 1
    text = pdf_text(path)
    assert fold("关于11·23东风中路燃气泄漏的首报") in text
    assert fold("已关闭燃气总阀") in text and fold("第 1 页 / 共 1 页") in text


def test_daily_report_pdf_spans_pages_with_numbers(qapp, ctx, incident, tmp_path):
    path = tmp_path / "daily.pdf"
    pages = export_daily_pdf(ctx.read, clock.now().date(), path)
    assert pages >= 1 and page_count(path) == pages
    text = pdf_text(path)
    day = clock.now().date()
    assert fold(f"值班日报（{day.year}年{day.month}月{day.day}日）") in text
    assert fold("11·23东风中路燃气泄漏") in text
    assert fold(f"第 {pages} 页 / 共 {pages} 页") in text


def test_a_long_document_breaks_into_numbered_pages(qapp, tmp_path):
    path = tmp_path / "long.pdf"
    html = "<h1>长文档</h1>" + "".join(f"<p>第{i}段：值班记录内容。</p>" for i in range(400))
    pages = write_pdf(path, "长文档", html)
    assert pages > 3 and page_count(path) == pages
    assert fold(f"第 2 页 / 共 {pages} 页") in pdf_text(path)


def test_export_from_the_panel_runs_in_the_background(ctx, incident, qtbot, tmp_path):
    bridge = ChangeBridge(ctx.bus)
    panel = IncidentsPanel(PanelHost(ctx=ctx, changes=bridge, selection=Selection(), read_only=False, settings=None))
    bridge.setParent(panel)
    qtbot.addWidget(panel)
    path = tmp_path / "日报.pdf"
    panel.export_daily(clock.now().date(), path)
    assert "正在导出" in panel.note.text()  # returned at once; the work is on a worker thread
    qtbot.waitUntil(lambda: "已导出" in panel.note.text(), timeout=20000)
    assert path.exists() and fold("值班日报") in pdf_text(path)
    if isValid(panel):
        panel.timer.stop()
