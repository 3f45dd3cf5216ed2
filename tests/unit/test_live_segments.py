"""The live captions' voice-activity segmentation: phrases found by energy, the same whatever the
chunk size, the same after a restart from the checkpoint (so their ids repeat and the database
refuses the copy), clicks ignored, a long phrase cut."""
from __future__ import annotations

import numpy as np

from services.captions.segments import FRAME, Segmenter

RATE = 16000


def tone(seconds: float, level: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def run(audio: np.ndarray, chunk: int, start: int = 0, segmenter: Segmenter | None = None):
    seg = segmenter or Segmenter(start)
    pieces = []
    for at in range(start, len(audio), chunk):
        pieces += seg.feed(at, audio[at:at + chunk])
    return seg, pieces


SPEECH = np.concatenate([quiet(1.0), tone(2.0), quiet(1.0), tone(1.5), quiet(1.0)])


def finals(pieces):
    return [(p.start, p.end) for p in pieces if p.kind == "final"]


def test_two_phrases_are_found_where_they_are():
    _, pieces = run(SPEECH, 4000)
    found = finals(pieces)
    assert len(found) == 2
    (s1, e1), (s2, e2) = found
    assert abs(s1 / RATE - 0.8) < 0.05 and abs(e1 / RATE - 3.2) < 0.05      # 200 ms before and after
    assert abs(s2 / RATE - 3.8) < 0.05 and abs(e2 / RATE - 5.7) < 0.05
    assert all(s % FRAME == 0 and e % FRAME == 0 for s, e in found)
    partials = [p for p in pieces if p.kind == "partial"]
    assert partials and all(p.start in (s1, s2) for p in partials)


def test_the_chunk_size_changes_nothing():
    assert finals(run(SPEECH, 4000)[1]) == finals(run(SPEECH, 1234)[1]) == finals(run(SPEECH, 16000)[1])


def test_a_restart_from_the_checkpoint_finds_the_same_next_phrase():
    whole = finals(run(SPEECH, 4000)[1])
    seg = Segmenter(0)
    first = []
    at = 0
    while not first:
        first = [p for p in seg.feed(at, SPEECH[at:at + 4000]) if p.kind == "final"]
        at += 4000
    checkpoint = seg.checkpoint
    assert checkpoint == first[0].end
    # the worker dies; its successor reads again from the chunk holding the checkpoint
    again = Segmenter(checkpoint)
    replayed = []
    for chunk_at in range((checkpoint // 4000) * 4000, len(SPEECH), 4000):
        replayed += again.feed(chunk_at, SPEECH[chunk_at:chunk_at + 4000])
    assert finals(replayed) == whole[1:]


def test_a_click_is_not_a_phrase_and_the_end_of_speaking_flushes():
    seg, pieces = run(np.concatenate([quiet(0.5), tone(0.08), quiet(1.0), tone(1.0)]), 4000)
    assert finals(pieces) == []
    flushed = seg.flush()
    assert len(flushed) == 1 and flushed[0].kind == "final" and abs(flushed[0].start / RATE - 1.38) < 0.05


def test_a_long_phrase_is_cut_at_its_quietest_moment():
    long = np.concatenate([tone(9.5), tone(0.1, 0.05), tone(3.0), quiet(1.0)])
    found = finals(run(long, 4000)[1])
    assert len(found) == 2
    assert 9.4 <= found[0][1] / RATE <= 9.7          # the softer 100 ms, not at exactly 10 s
    assert found[1][0] == found[0][1]


def test_a_gap_in_the_stream_keeps_positions_true():
    seg = Segmenter(0)
    seg.feed(0, quiet(0.5))
    pieces = seg.feed(RATE, np.concatenate([tone(1.0), quiet(1.0)]))   # half a second lost
    (start, end), = finals(pieces)
    assert abs(start / RATE - 0.8) < 0.05 and abs(end / RATE - 2.2) < 0.05
