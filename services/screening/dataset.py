"""The screening data in tests/data/screening: one JSON object per line,
{"text": ..., "label": emergency|safeguarding|report_crime|none, "lang": en|cy}.
`tuning.jsonl` trains the model and sets its thresholds; `heldout.jsonl` is only ever evaluated."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from services.screening.safety import CATEGORIES

DATA_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "screening"
TUNING = DATA_DIR / "tuning.jsonl"
HELDOUT = DATA_DIR / "heldout.jsonl"


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str


def load_examples(path: Path) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["label"] not in CATEGORIES or row["lang"] not in ("en", "cy"):
            raise ValueError(f"{path.name}:{number}: label must be one of {CATEGORIES}, lang en or cy")
        examples.append(Example(row["text"], row["label"], row["lang"]))
    return examples
