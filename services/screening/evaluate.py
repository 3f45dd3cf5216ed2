"""Measure a screening engine on labelled messages (by default the held-out set):
`python -m services.screening.evaluate [--file tests/data/screening/heldout.jsonl] [--engine embedding-v2]`
prints, per language and overall, precision and recall per class, the false-alarm rate on
ordinary messages, how many danger messages got some guidance, and the cost per message.
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from services.screening.dataset import HELDOUT, Example, load_examples
from services.screening.engine import load_screen

DANGER = ("emergency", "safeguarding", "report_crime")


@dataclass(frozen=True)
class Outcome:
    example: Example
    predicted: str
    milliseconds: float


def run(engine_name: str, examples: list[Example]) -> list[Outcome]:
    screen = load_screen(engine_name)
    outcomes = []
    for example in examples:
        started = time.perf_counter()
        verdict = screen.classify(example.text, example.lang)
        outcomes.append(Outcome(example, verdict.category, (time.perf_counter() - started) * 1000))
    return outcomes


def figures(outcomes: list[Outcome]) -> dict[str, float | int]:
    result: dict[str, float | int] = {"messages": len(outcomes)}
    for label in DANGER:
        predicted = [o for o in outcomes if o.predicted == label]
        actual = [o for o in outcomes if o.example.label == label]
        hits = sum(o.example.label == label for o in predicted)
        result[f"{label}_precision"] = hits / len(predicted) if predicted else 1.0
        result[f"{label}_recall"] = hits / len(actual) if actual else 1.0
        result[f"{label}_count"] = len(actual)
    ordinary = [o for o in outcomes if o.example.label == "none"]
    result["none_count"] = len(ordinary)
    result["false_alarm"] = sum(o.predicted != "none" for o in ordinary) / len(ordinary) if ordinary else 0.0
    result["false_emergency"] = sum(o.predicted == "emergency" for o in ordinary) / len(ordinary) if ordinary else 0.0
    danger = [o for o in outcomes if o.example.label != "none"]
    result["any_guidance_recall"] = sum(o.predicted != "none" for o in danger) / len(danger) if danger else 1.0
    costs = sorted(o.milliseconds for o in outcomes)
    result["cost_p50_ms"] = statistics.median(costs)
    result["cost_p95_ms"] = costs[int(0.95 * (len(costs) - 1))]
    return result


def table(groups: dict[str, dict]) -> str:
    rows = ["| | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    def line(name, key, fmt="{:.2f}"):
        rows.append(f"| {name} | " + " | ".join(fmt.format(g[key]) for g in groups.values()) + " |")
    line("messages", "messages", "{}")
    for label in DANGER:
        line(f"{label}: messages", f"{label}_count", "{}")
        line(f"{label}: precision", f"{label}_precision")
        line(f"{label}: recall", f"{label}_recall")
    line("ordinary messages", "none_count", "{}")
    line("false alarms on ordinary messages", "false_alarm")
    line("of which shown 999 guidance", "false_emergency")
    line("danger messages given some guidance", "any_guidance_recall")
    line("cost per message p50 (ms)", "cost_p50_ms", "{:.0f}")
    line("cost per message p95 (ms)", "cost_p95_ms", "{:.0f}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=HELDOUT)
    parser.add_argument("--engine", default="embedding-v2")
    parser.add_argument("--misses", action="store_true", help="also list every wrong answer")
    args = parser.parse_args()
    outcomes = run(args.engine, load_examples(args.file))
    groups = {"all": figures(outcomes)}
    for lang in ("en", "cy"):
        mine = [o for o in outcomes if o.example.lang == lang]
        if mine:
            groups[lang] = figures(mine)
    print(f"{args.engine} on {args.file.name}\n\n{table(groups)}")
    if args.misses:
        for o in outcomes:
            if o.predicted != o.example.label:
                print(f"{o.example.label:>12} -> {o.predicted:<12} {o.example.text}")


if __name__ == "__main__":
    main()
