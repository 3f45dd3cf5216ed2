"""WebVTT: writing cues from a speech engine (clamped, ordered, never overlapping), and parsing
what staff type when they correct captions (a clear message with the line number when it is wrong)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from tenants.errors import ValidationFailed

MIN_CUE_SECONDS = 0.2
MAX_CAPTIONS_CHARS = 200_000
_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"^{_TIME}[ \t]+-->[ \t]+{_TIME}(?:[ \t]+.*)?$")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def timestamp(seconds: float) -> str:
    millis = int(round(max(0.0, seconds) * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    text = re.sub(r"<[^>]*>", "", text)  # voice/class/timestamp tags
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ").replace("&amp;", "&")


def clamp(cues: list[Cue], duration: float | None) -> list[Cue]:
    """Engines give cue times that can overlap or run past the end: order them, start each at or
    after the previous end, keep each inside the media, drop empty text."""
    out: list[Cue] = []
    previous_end = 0.0
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        text = " ".join(cue.text.split())
        if not text:
            continue
        start = max(cue.start, previous_end, 0.0)
        end = max(cue.end, start + MIN_CUE_SECONDS)
        if duration is not None:
            if start >= duration:
                start = max(previous_end, duration - MIN_CUE_SECONDS)
            end = min(end, duration)
        if end <= start:
            end = start + 0.001
        out.append(Cue(round(start, 3), round(end, 3), text))
        previous_end = out[-1].end
    return out


def write(cues: list[Cue], duration: float | None = None) -> str:
    lines = ["WEBVTT", ""]
    for number, cue in enumerate(clamp(cues, duration), start=1):
        lines += [str(number), f"{timestamp(cue.start)} --> {timestamp(cue.end)}", _escape(cue.text), ""]
    return "\n".join(lines)


def _seconds(groups) -> float:
    hours, minutes, secs, millis = groups
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + int(millis) / 1000


def parse(text: str) -> list[Cue]:
    """Parse WebVTT strictly enough for a browser to accept it; ValidationFailed says what and where."""
    if len(text) > MAX_CAPTIONS_CHARS:
        raise ValidationFailed("The captions are too long.", field="captions")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or not re.match(r"^\ufeff?WEBVTT([ \t].*)?$", lines[0]):
        raise ValidationFailed("Captions must start with the line WEBVTT.", field="captions")
    cues: list[Cue] = []
    i, previous_start = 1, 0.0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block_start = i
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        if block[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_at = 0 if "-->" in block[0] else 1
        if timing_at >= len(block) or "-->" not in block[timing_at]:
            raise ValidationFailed(f"Line {block_start + 1}: expected a timing line like "
                                   "00:00:01.000 --> 00:00:04.000.", field="captions")
        match = _TIMING.match(block[timing_at].strip())
        if not match:
            raise ValidationFailed(f"Line {block_start + timing_at + 1}: the timing must look like "
                                   "00:00:01.000 --> 00:00:04.000.", field="captions")
        start, end = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
        if end <= start:
            raise ValidationFailed(f"Line {block_start + timing_at + 1}: a caption must end after it starts.",
                                   field="captions")
        if start < previous_start:
            raise ValidationFailed(f"Line {block_start + timing_at + 1}: captions must be in time order.",
                                   field="captions")
        previous_start = start
        cue_text = "\n".join(block[timing_at + 1:])
        if not cue_text.strip():
            raise ValidationFailed(f"Line {block_start + timing_at + 2}: a caption needs some text.", field="captions")
        cues.append(Cue(start, end, _unescape(cue_text)))
    return cues


def caption_text(vtt: str) -> str:
    """The words of the captions as one paragraph (for the transcript and the room page)."""
    try:
        cues = parse(vtt)
    except ValidationFailed:
        return ""
    return " ".join(" ".join(c.text.split()) for c in cues)
