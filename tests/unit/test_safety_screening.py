"""Safety screening: the cue rules, the language guess, the engine seam and the embedding engine,
measured on the held-out messages it was never trained or tuned on."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from services.screening import engine
from services.screening.dataset import HELDOUT, TUNING, load_examples
from services.screening.embedding import MAX_WINDOWS, MODEL_FILE, WINDOW_CHARS, EmbeddingScreen, windows
from services.screening.evaluate import figures, run
from services.screening.language import detect_language
from services.screening.rules import find_cues
from services.screening.engine import load_screen
from services.screening.safety import CATEGORIES, ScreeningModelError
from tests.support.servers import ROOT


@pytest.fixture(scope="module")
def screen():
    return engine.use("embedding-v2")


@pytest.mark.parametrize("text", [
    "there's a man outside my house with a knife",
    "someone is breaking in right now",
    "my house is on fire",
    "i've taken all my tablets",
    "mae dyn tu allan efo chyllell",
    "dwi wedi cymryd fy nhabledi i gyd",
])
def test_a_danger_now_is_decided_by_the_rules(text):
    assert find_cues(text).forces_emergency


@pytest.mark.parametrize("text", [
    "what would happen if someone broke in right now while I was away?",
    "knife crime statistics now please",
    "my car was broken into last night, someone had a crowbar",
    "beth fyddai'n digwydd petai rhywun yn torri mewn nawr",
])
def test_hypotheticals_statistics_and_past_crimes_are_not_decisive(text):
    assert not find_cues(text).forces_emergency


def test_signals_name_the_words_that_matched():
    assert find_cues("he has a knife and he is outside my house").signals("emergency") == ("knife", "outside my house")


@pytest.mark.parametrize("text, page, expected", [
    ("mae dyn tu allan i'r tŷ efo cyllell", "en", "cy"),
    ("there is a man outside with a knife", "cy", "en"),
    ("999", "cy", "cy"),
])
def test_language_is_read_from_the_message_with_the_page_as_fallback(text, page, expected):
    assert detect_language(text, page) == expected


def test_an_unknown_engine_is_refused_with_the_choices():
    with pytest.raises(ScreeningModelError, match="not a known screening engine.*embedding-v2.*phrases-v0"):
        load_screen("gpt-9")


def test_a_broken_model_file_is_refused_in_one_line(tmp_path):
    broken = tmp_path / "model.json"
    broken.write_text("{not json")
    with pytest.raises(ScreeningModelError) as raised:
        EmbeddingScreen(broken)
    assert "cannot load" in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "!!!???"])
def test_empty_and_emoji_only_messages_need_no_guidance(screen, text):
    assert screen.classify(text, "en").category == "none"


def test_a_very_long_message_is_read_in_a_bounded_number_of_windows(screen):
    text = "blah " * 900 + "there is a man outside my house with a knife right now " + "blah " * 900
    assert len(windows(text)) == MAX_WINDOWS
    assert [len(w) for w in windows("x" * 10_000)] == [WINDOW_CHARS]   # one unbroken "word" is cut, not read whole
    assert screen.classify("x" * 10_000, "en").category in CATEGORIES
    buried = "I wanted to ask about the precept and the roadworks on Mill Lane which have been going on for months " \
             "and nobody tells us anything, but as I type this there's a man outside my house with a knife, " \
             "anyway the bins are also not being collected on time"
    assert screen.classify(buried, "en").category == "emergency"


def test_the_model_was_trained_on_the_tuning_set_only():
    model = json.loads(MODEL_FILE.read_text())
    tuning = {e.text for e in load_examples(TUNING)}
    assert model["trained_on"].startswith("tuning.jsonl")
    assert not tuning & {e.text for e in load_examples(HELDOUT)}


def test_the_data_is_large_enough_and_bilingual():
    examples = load_examples(TUNING) + load_examples(HELDOUT)
    assert len(examples) >= 600
    assert sum(e.lang == "cy" for e in examples) >= 100
    assert {e.label for e in load_examples(HELDOUT)} == {"emergency", "safeguarding", "report_crime", "none"}


def test_held_out_figures_do_not_regress():
    """The held-out figures reported in docs/safety.md, with a little room: a change that loses
    emergencies or floods ordinary questions with 999 guidance fails here."""
    result = figures(run("embedding-v2", load_examples(HELDOUT)))
    assert result["emergency_recall"] >= 0.96
    assert result["any_guidance_recall"] >= 0.97
    assert result["safeguarding_recall"] >= 0.85
    assert result["report_crime_recall"] >= 0.9
    assert result["false_alarm"] <= 0.12
    assert result["false_emergency"] <= 0.04


GEVENT_CLASSIFICATIONS = """
from gevent import monkey; monkey.patch_all()
import gevent
from services.screening import engine
engine.use("embedding-v2")
jobs = [gevent.spawn(engine.classify, f"question {n}: there is a man outside with a knife", "en") for n in range(40)]
gevent.joinall(jobs, timeout=30)
print(sum(job.successful() and job.value.category == "emergency" for job in jobs))
"""


def test_concurrent_questions_in_a_gevent_process_are_all_screened():
    """The live process screens many questions at once off the event loop; none may hang."""
    result = subprocess.run([sys.executable, "-c", GEVENT_CLASSIFICATIONS], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "40", result.stderr


def test_welsh_and_english_medical_emergencies_force_999_in_their_everyday_forms():
    from services.screening.rules import find_cues

    for text in ("Mae fy ngŵr newydd lewygu yn y gegin", "nid yw'n anadlu", "dim yn anadlu, help",
                 "dad yn cael trawiad ar y galon", "I think he's having a heart attack", "mae hi'n tagu"):
        assert find_cues(text).forces_emergency, text
    assert not find_cues("the precept nearly gave me a heart attack").forces_emergency


def test_the_training_search_decides_exactly_as_the_engine_does():
    """Thresholds are chosen with an array version of `decide`; it must agree with the engine's."""
    from services.screening.embedding import CLASSES, decide, settled_class
    from services.screening.train import Readings

    rng = np.random.default_rng(3)
    texts = ["a man outside with a knife right now", "every night they race up and down", "when is the precept set"]
    cues = [find_cues(texts[i % 3]) for i in range(600)]
    def random_reading():
        p = rng.dirichlet(np.ones(4))
        return dict(zip(CLASSES, p.round(2)))
    full, fast = [random_reading() for _ in cues], [random_reading() for _ in cues]
    labels = [CLASSES[i % 4] for i in range(len(cues))]
    readings = Readings(full, fast, labels, cues)
    for thresholds in ({"settled": 0.6, "emergency": 0.3, "emergency_pattern": 0.5, "emergency_ratio": 0.8, "guidance": 0.4},
                       {"settled": 0.9, "emergency": 0.2, "emergency_pattern": 0.2, "emergency_ratio": 1.0, "guidance": 0.7}):
        expected = [settled_class(f, thresholds["settled"]) if not c.forces_emergency and settled_class(f, thresholds["settled"])
                    else decide(r, c, thresholds)[0] for r, f, c in zip(full, fast, cues)]
        assert [CLASSES[i] for i in readings.decided(thresholds)] == expected
