"""Safety screening: is a resident in danger (999), reporting a crime (101), or is someone at risk?

One interface, engines chosen by configuration (`SCREENING_MODEL`): `engine.load_screen(name)`
returns an engine whose `classify(text, lang)` gives a `Verdict`. A missing or broken engine raises
`ScreeningModelError` so that start-up fails with one line (never a silent fallback to no
screening). Personal-data flags (phone, email, ...) stay in `flags.py`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from services.ops.config import ConfigError

CATEGORIES = ("emergency", "safeguarding", "report_crime", "none")


class ScreeningModelError(ConfigError):
    """The configured screening engine is unknown or cannot load; the message says what to fix."""


@dataclass(frozen=True)
class Verdict:
    category: str                       # one of CATEGORIES
    confidence: float                   # 0..1, how sure the engine is of `category`
    language: str = "en"                # "en" or "cy", as detected (or as given)
    signals: tuple[str, ...] = ()       # short reasons a moderator can read, e.g. ("knife", "right now")
    scores: dict = field(default_factory=dict)   # category -> score, for the evaluation report

    @property
    def needs_guidance(self) -> bool:
        return self.category != "none"


class SafetyScreen(Protocol):
    name: str

    def classify(self, text: str, lang: str | None = None) -> Verdict: ...


class PhraseScreen:
    """The first-wave phrase list, kept as a baseline to measure engines against."""
    name = "phrases-v0"
    _EMERGENCY = re.compile(
        r"\b(?:kill (?:my|him|her|them)sel(?:f|ves)|suicid\w*|end (?:my|it all)|overdos\w*|being attacked|"
        r"attacking me|in danger|going to hurt|has a (?:knife|gun|weapon)|someone (?:is )?breaking in|"
        r"help me now|emergency|bleeding|can'?t breathe|threaten\w* to kill)\b", re.I)
    _REPORT_CRIME = re.compile(
        r"\b(?:i want to report|report(?:ing)? a crime|been (?:burgled|robbed|assaulted|mugged|scammed)|"
        r"stole (?:my|our)|was stolen|break[- ]in at|i was (?:hit|assaulted|attacked)|witnessed a)\b", re.I)

    def classify(self, text: str, lang: str | None = None) -> Verdict:
        for category, pattern in (("emergency", self._EMERGENCY), ("report_crime", self._REPORT_CRIME)):
            match = pattern.search(text)
            if match:
                return Verdict(category, 1.0, lang or "en", (match.group(0).lower(),))
        return Verdict("none", 1.0, lang or "en")
