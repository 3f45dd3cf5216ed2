"""Finding English left on a Welsh rendering: the text a reader sees (and a screen reader speaks)
in both languages, and what is identical in both that is not the tenant's or residents' own words.
Used by the resident-page test (tests/browser/test_i18n.py) and the Welsh email test."""
from __future__ import annotations

import re
from html.parser import HTMLParser


class TextNodes(HTMLParser):
    """Visible text and the attributes a screen reader speaks, inside <main>, header and footer."""
    SPOKEN = ("aria-label", "title", "placeholder", "alt")

    def __init__(self):
        super().__init__()
        self.nodes: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self.skip += 1
        for name, value in attrs:
            if name in self.SPOKEN and value and not self.skip:
                self.nodes.append(value.strip())

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self.skip -= 1

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self.skip:
            self.nodes.append(text)


def text_nodes(html: str) -> list[str]:
    parser = TextNodes()
    parser.feed(html)
    return parser.nodes


def untranslated(english: list[str], welsh: list[str], allowed: set[str]) -> list[str]:
    def is_content(text: str) -> bool:
        stripped = re.sub(r": \d+$", "", text).strip(" .,:;()–·✔")  # a poll option and its count
        return (not stripped or stripped in allowed or text in allowed or re.fullmatch(r"[\d\s:/.,%-]+", stripped)
                or re.fullmatch(r"[\w.:-]+/\S*", stripped)   # a web address
                or any(text.strip(" ,:") == a for a in allowed))
    return sorted({t for t in set(english) & set(welsh) if not is_content(t)})
