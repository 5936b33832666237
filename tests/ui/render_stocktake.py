"""Render the stocktake form (出入库 / 盘点, reason 盘点) in Chinese and English for docs/screenshots/.

    .venv/bin/python tests/ui/render_stocktake.py [docs/screenshots]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE.parent / "unit"), str(ROOT)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication
    from test_stock_seed import seed

    from app.store.db import Store
    from app.ui import i18n
    from app.ui.resources.dialogs import MovementDialog

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "cache.db")
        s = seed(store)
        for lang in ("zh", "en"):
            i18n.set_language(lang)
            dialog = MovementDialog(s.ctx, s.wh_a, item_id=s.water)
            dialog.reason.setCurrentIndex(dialog.reason.findData("count_adjust"))
            dialog.quantity.setText("400")
            dialog.note.setText("季度盘点" if lang == "zh" else "quarterly count")
            dialog.resize(560, dialog.sizeHint().height())
            dialog.show()
            app.processEvents()
            path = out / f"stocktake_{lang}.png"
            dialog.grab().save(str(path))
            print(path)
            dialog.close()
        i18n.set_language("zh")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
