"""Is a message Welsh or English? Counted on the short words each language cannot do without,
so a Welsh message gets Welsh guidance even on an English page (and the other way round)."""
from __future__ import annotations

import re

_WORD = re.compile(r"[a-zâêîôûŵŷ']+")
_WELSH = frozenset("""
a ac ar at yn y yr mae dwi dw i ni chi nhw fi fo hi o e wedi ddim dim yw ydy oes roedd bod gyda efo
gan ond hefyd mewn fy ein eich eu ei beth pam sut ble pryd pwy plis diolch iawn rhywun isio eisiau
hyn hynny nawr rŵan rwan tu allan heddlu cyngor
""".split())
_ENGLISH = frozenset("""
the a an and or is are was were be been i me my you your he she it we they them his her this that
there what why how where when who not no of to in on at for with from have has had do does did can
will would just please someone police
""".split())


def detect_language(text: str, fallback: str = "en") -> str:
    words = _WORD.findall(text.lower())
    welsh = sum(word in _WELSH for word in words)
    english = sum(word in _ENGLISH for word in words)
    if welsh == english:
        return fallback if fallback in ("en", "cy") else "en"
    return "cy" if welsh > english else "en"


def language_words(text: str) -> tuple[int, int]:
    """(Welsh, English) counts of the everyday words that belong to one language only."""
    words = _WORD.findall(text.lower())
    return (sum(w in _WELSH and w not in _ENGLISH for w in words),
            sum(w in _ENGLISH and w not in _WELSH for w in words))
