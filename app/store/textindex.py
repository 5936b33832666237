"""Text preparation for the Chinese full-text index (no SQL here).

FTS5's unicode61 tokenizer treats a run of Chinese as one token, and the trigram
tokenizer cannot match anything shorter than three characters. The index keeps
two FTS5 tables over the same rows: a trigram one for queries of three or more
characters, and a "unigram" one in which every CJK character is its own token,
so a one- or two-character query becomes an exact phrase match ("越 秀").
"""

from __future__ import annotations

import re
import unicodedata

# CJK Unified Ideographs (+ Ext A), compatibility ideographs, kana, hangul, fullwidth forms.
_CJK = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff])")


def normalise(text: str) -> str:
    """NFKC folds fullwidth Latin/digits (ＡＢＣ１２３) onto their ASCII forms."""
    return unicodedata.normalize("NFKC", text)


def unigram_text(text: str | None) -> str:
    """Put spaces around every CJK character so unicode61 indexes each one alone."""
    if not text:
        return ""
    return _CJK.sub(r" \1 ", normalise(text))


def is_cjk(ch: str) -> bool:
    return bool(_CJK.fullmatch(ch))
