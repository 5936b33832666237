"""Text preparation for the Chinese full-text index (no SQL here).

FTS5's unicode61 tokenizer treats a run of Chinese as one token, and the trigram
tokenizer cannot match anything shorter than three characters. The index keeps
two FTS5 tables over the same rows: a trigram one for queries of three or more
characters, and a "unigram" one in which every character is its own token, so a
one- or two-character query becomes a phrase of single characters ("越 秀").
Splitting every character (not just CJK ones) is done with str.join, which is
about fifteen times faster than a regular expression on the write path; the
unigram table only ever answers short CJK queries, whose candidates the search
then confirms against the folded text.
"""

from __future__ import annotations

import re
import unicodedata

# CJK Unified Ideographs (+ Ext A), compatibility ideographs, kana, hangul.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def normalise(text: str | None) -> str:
    """NFKC folds fullwidth Latin/digits/punctuation (ＡＢＣ１２３；) onto their plain forms."""
    return unicodedata.normalize("NFKC", text) if text else ""


def unigram_text(text: str | None) -> str:
    """Every character its own token for unicode61."""
    return " ".join(normalise(text))


def is_cjk(ch: str) -> bool:
    return bool(_CJK.fullmatch(ch))
