"""Moderator assist: the grouping rules, and the measured behaviour on the labelled questions
(tests/data/assist/questions.jsonl) that `python -m services.assist.evaluate` reports."""
from __future__ import annotations

import socket

import numpy as np
import pytest

from services.assist import evaluate, grouping, themes
from services.assist.engine import get_engine
from services.assist.grouping import Candidate, choose_group, language_of


@pytest.fixture(scope="module")
def engine():
    return get_engine()


@pytest.fixture(scope="module")
def data(engine):
    rows = evaluate.load()
    vectors = dict(zip([r["id"] for r in rows], engine.embed([r["text"] for r in rows])))
    return rows, vectors


def test_the_model_loads_with_the_network_off(monkeypatch):
    from services.lib.encoder import Encoder

    def refuse(*args, **kwargs):
        raise OSError("network is off in this test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    encoder = Encoder()
    assert encoder.query("why is the precept going up?").shape == (encoder.dim,)


def test_the_labelled_set_is_split_by_group_and_big_enough(data):
    rows, _ = data
    assert len(rows) >= 300
    splits = {}
    for r in rows:
        splits.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in splits.values()), "a paraphrase group is on both sides of the split"
    assert {r["lang"] for r in rows} >= {"en", "cy"}


def test_a_paraphrase_joins_the_group_of_its_nearest_question(engine):
    texts = ["What is being done about antisocial behaviour in the town centre at night?",
             "When will the speed camera on the A40 be fixed?"]
    matrix = engine.embed(texts)
    candidates = [Candidate("a", None, "en"), Candidate("b", None, "en")]
    new = engine.embed(["what is being done about anti-social behaviour in the town centre at night"])[0]
    assert choose_group(new, "en", candidates, matrix)[:2] == ("a", "a")
    grouped = [Candidate("a", "g1", "en"), Candidate("b", None, "en")]
    assert choose_group(new, "en", grouped, matrix)[0] == "g1"


def test_english_is_never_grouped_with_welsh_and_mixed_text_never_grouped(engine):
    english, welsh = "Why does it take so long to get through on 101?", "Pam mae'n cymryd mor hir i gael ateb ar 101?"
    matrix = engine.embed([english])
    assert choose_group(engine.embed([welsh])[0], language_of(welsh), [Candidate("a", None, "en")], matrix) is None
    mixed = "Pam mae'r precept yn codi, what are we getting for it?"
    assert language_of(mixed) == "mixed"
    assert choose_group(engine.embed([mixed])[0], "mixed", [Candidate("a", None, "mixed")],
                        engine.embed([mixed])) is None
    assert language_of(welsh) == "cy" and language_of(english) == "en"


def test_below_the_threshold_nothing_is_grouped(engine):
    matrix = engine.embed(["How do I become a special constable?"])
    new = engine.embed(["Kids are throwing fireworks at buses, what is being done?"])[0]
    assert choose_group(new, "en", [Candidate("a", None, "en")], matrix) is None


def test_held_out_grouping_is_precise_with_the_shipped_thresholds(data):
    """If grouping broke (a threshold too low, groups mixed up), precision falls through the floor."""
    rows, vectors = data
    heldout = [r for r in rows if r["split"] == "heldout"]
    score = evaluate.grouped(heldout, vectors, grouping.THRESHOLDS)
    assert score["precision"] >= 0.75
    assert score["recall"] > 0
    careless = evaluate.grouped(heldout, vectors, {"en": 0.85, "cy": 0.85})
    assert careless["precision"] < score["precision"]


def test_the_shipped_thresholds_are_the_ones_tuning_chooses(data):
    rows, vectors = data
    tuning = [r for r in rows if r["split"] == "tuning"]
    en = evaluate.choose_threshold(tuning, vectors, "en", 0.85, {"cy": 1.01})
    assert en == grouping.THRESHOLDS["en"]
    assert grouping.THRESHOLDS["cy"] >= en


def test_theme_suggestions_beat_chance_by_far(data, engine):
    rows, vectors = data
    tuning = [r for r in rows if r["split"] == "tuning"]
    heldout = [r for r in rows if r["split"] == "heldout"]
    accuracy = evaluate.theme_accuracy(tuning, heldout, vectors, engine, with_examples=True)
    assert accuracy >= 0.55     # 14 themes: chance is about 0.07


def test_clusters_gather_alike_questions_and_label_them_with_a_member(engine):
    texts = ["Why are the trains so late?", "the trains are always late why", "why is the train late every day",
             "How do I become a special constable?"]
    found = themes.clusters(engine.embed(texts), threshold=0.88)
    assert found and set(found[0]["members"]) <= {0, 1, 2} and len(found[0]["members"]) >= 2
    assert found[0]["label"] in found[0]["members"]
    assert themes.clusters(np.zeros((0, 384), dtype=np.float32)) == []
