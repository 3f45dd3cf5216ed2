"""WebVTT writing (engine cues clamped into order) and parsing (staff corrections)."""
from __future__ import annotations

import pytest

from services.media.webvtt import Cue, caption_text, clamp, parse, timestamp, write
from tenants.errors import ValidationFailed
from workers.captions.engine import split_long


def test_overlapping_and_overrunning_cues_are_clamped_in_order():
    cues = [Cue(4.8, 6.6, "second"), Cue(0.9, 4.9, "first"), Cue(6.4, 8.5, "third  words"), Cue(9.0, 12.0, "  ")]
    out = clamp(cues, duration=8.0)
    assert [c.text for c in out] == ["first", "second", "third words"]
    assert all(a.end <= b.start for a, b in zip(out, out[1:]))
    assert all(c.start < c.end <= 8.0 for c in out)


def test_written_captions_parse_back_with_escaping():
    vtt = write([Cue(0, 1.5, "Fish & chips <b>"), Cue(1.5, 3661.25, "later")])
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nFish &amp; chips &lt;b&gt;\n")
    assert "01:01:01.250" in vtt and timestamp(3661.25) == "01:01:01.250"
    assert [c.text for c in parse(vtt)] == ["Fish & chips <b>", "later"]
    assert caption_text(vtt) == "Fish & chips <b> later"


@pytest.mark.parametrize("text, message", [
    ("Hello\n", "Captions must start with the line WEBVTT."),
    ("WEBVTT\n\n1\nno timing here\nwords\n", "Line 3: expected a timing line"),
    ("WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nwords\n", "Line 3: expected a timing line"),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:2.000\nwords\n", "Line 3: the timing must look like"),
    ("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nwords\n", "Line 3: a caption must end after it starts."),
    ("WEBVTT\n\n00:00:05.000 --> 00:00:06.000\na\n\n00:00:01.000 --> 00:00:02.000\nb\n", "Line 6: captions must be in time order."),
])
def test_broken_captions_are_refused_with_the_line(text, message):
    with pytest.raises(ValidationFailed) as err:
        parse(text)
    assert message in err.value.message


def test_notes_and_cue_settings_are_accepted():
    cues = parse("WEBVTT - corrected\n\nNOTE checked by staff\n\nintro\n00:01.000 --> 00:02.000 align:start\n<v Pat>Hello</v>\n")
    assert cues == [Cue(1.0, 2.0, "Hello")]


def test_long_lines_are_split_with_their_time_shared():
    parts = split_long(Cue(0.0, 10.0, " ".join(["word"] * 40)))
    assert len(parts) == 3 and parts[0].start == 0.0 and abs(parts[-1].end - 10.0) < 1e-9
    assert all(len(p.text) <= 84 for p in parts)
