"""Print a report or the daily duty report (值班日报) to an A4 PDF in a plain official layout.

QTextDocument lays the HTML out (app.services.reporting builds it) in a serif CJK face
(Noto Serif CJK, the 宋体-like one installed with the console); every page gets the
document's title as a plain header (no 红头) and "第 n 页 / 共 m 页" at the foot.
Painting on a QPdfWriter is allowed off the GUI thread, so exports run in the background.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

SERIF_FAMILIES = ["Noto Serif CJK SC", "Source Han Serif SC", "SimSun", "Songti SC", "Noto Serif"]
MARGINS_MM = QMarginsF(25, 25, 22, 22)  # GB/T 9704 leaves roughly these on an A4 official page
DPI = 300


def write_pdf(path: Path | str, title: str, html: str, creator: str = "Command Desk") -> int:
    """Write the PDF; returns the number of pages."""
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator(creator)
    writer.setResolution(DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     MARGINS_MM, QPageLayout.Unit.Millimeter))
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write {path}")
    try:
        page = writer.pageLayout().paintRectPixels(DPI)
        font = QFont()
        font.setFamilies(SERIF_FAMILIES)
        font.setPointSizeF(11)
        small = QFont(font)
        small.setPointSizeF(9)
        band = painter.fontMetrics().height() * 3  # header and footer bands
        doc = QTextDocument()
        doc.documentLayout().setPaintDevice(writer)
        doc.setDefaultFont(font)
        doc.setHtml(html)
        doc.setPageSize(QSizeF(page.width(), page.height() - 2 * band))
        pages = max(1, doc.pageCount())
        body_h = page.height() - 2 * band
        for n in range(pages):
            if n:
                writer.newPage()
            painter.setFont(small)
            painter.drawText(QRectF(0, 0, page.width(), band * 0.7),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, title)
            painter.drawLine(0, int(band * 0.8), page.width(), int(band * 0.8))
            painter.drawText(QRectF(0, page.height() - band * 0.7, page.width(), band * 0.7),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                             f"第 {n + 1} 页 / 共 {pages} 页")
            painter.save()
            painter.translate(0, band - n * body_h)
            doc.drawContents(painter, QRectF(0, n * body_h, page.width(), body_h))
            painter.restore()
    finally:
        painter.end()
    return pages
