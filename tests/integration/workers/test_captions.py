"""Captions: staff upload a spoken clip in the console, a real worker on the `media` queue makes
WebVTT with the bundled offline model, residents get a captions track, staff correct it, the
transcript carries the text. Malformed uploads are refused with a clear message and leave
nothing behind. Accuracy and speed are measured on three espeak-ng clips."""
from __future__ import annotations

import io
import re
import uuid

import pytest
from flask import g

from tenants.db import tenant_scope
from tests.support.workers import wait_until
from workers.captions import measure
from workers.captions.engine import bundled_model_path
from workers.captions.tasks import transcribe

SPOKEN = measure.CLIPS[0]
TIMING = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2}):(\d{2}):(\d{2})\.(\d{3})$")


def assert_valid_webvtt(vtt: str, duration: float) -> list[tuple[float, float, str]]:
    """What a browser needs: the header, numbered cues, well-formed increasing non-overlapping times."""
    blocks = vtt.strip().split("\n\n")
    assert blocks[0] == "WEBVTT"
    cues, previous_end = [], 0.0
    for n, block in enumerate(blocks[1:], start=1):
        number, timing, *text = block.split("\n")
        assert number == str(n)
        parts = TIMING.match(timing).groups()
        start = int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2]) + int(parts[3]) / 1000
        end = int(parts[4]) * 3600 + int(parts[5]) * 60 + int(parts[6]) + int(parts[7]) / 1000
        assert previous_end <= start < end <= duration + 0.001 and text and all(t.strip() for t in text)
        previous_end = end
        cues.append((start, end, " ".join(text)))
    assert cues
    return cues


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return measure.speak(SPOKEN, tmp_path_factory.mktemp("clips") / "spoken.wav")


def _media(world) -> list[dict]:
    with tenant_scope(world.tenant.id) as tx:
        return tx.all("select * from media where room_id = %s", [world.room["id"]])


def _upload(client, world, name: str, data: bytes, title: str = "Introduction from the Commissioner"):
    g.pop("staff", None)
    return client.post(f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/media",
                       data={"title": title, "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_the_engine_ships_its_model_in_the_wheel():
    folder = bundled_model_path()
    assert folder.is_dir() and {"encoder_model.ort", "decoder_model_merged.ort"} <= {p.name for p in folder.iterdir()}


def test_spoken_clip_gets_valid_captions_residents_can_play(app_ctx, make_world, client, signed_in, worker, clip):
    world = make_world(state="live")
    signed_in(world.tenant, world.admin)
    response = _upload(client, world, "intro.wav", clip.read_bytes())
    assert response.status_code == 302, response.get_data(as_text=True)
    media = wait_until(lambda: [m for m in _media(world) if m["status"] in ("ready", "failed")], 90, 0.3,
                       "captions")[0]
    assert media["status"] == "ready" and media["engine"] == "moonshine-tiny-en"
    cues = assert_valid_webvtt(media["captions_vtt"], media["duration_seconds"])
    heard = " ".join(text for _, _, text in cues)
    error_rate = measure.word_error_rate(SPOKEN, heard)
    print(f"\ncaptions WER {error_rate:.1%} on {media['duration_seconds']:.1f}s: {heard!r}")
    assert error_rate <= 0.25

    page = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").get_data(as_text=True)
    assert f'<track kind="captions" srclang="en" label="English" src="/t/{world.tenant.slug}/media/{media["id"]}/captions.vtt" default>' in page
    track = client.get(f"/t/{world.tenant.slug}/media/{media['id']}/captions.vtt")
    assert track.headers["Content-Type"].startswith("text/vtt") and track.get_data(as_text=True) == media["captions_vtt"]
    ranged = client.get(f"/t/{world.tenant.slug}/media/{media['id']}", headers={"Range": "bytes=0-11"})
    assert ranged.status_code == 206 and ranged.data[:4] == b"RIFF" and ranged.headers["Content-Type"] == "audio/wav"

    # staff correct the words; a broken file is refused with the line that is wrong
    corrected = "WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.500\nThe Police and Crime Commissioner\n\n" \
                "2\n00:00:02.500 --> 00:00:04.000\nwill answer your questions tonight.\n"
    captions_url = f"/t/{world.tenant.slug}/console/media/{media['id']}/captions"
    g.pop("staff", None)
    bad = client.post(captions_url, data={"captions": "WEBVTT\n\n1\n00:00:03.000 --> 00:00:01.000\nBackwards\n"})
    assert bad.status_code == 400 and "Line 4: a caption must end after it starts." in bad.get_data(as_text=True)
    assert _media(world)[0]["captions_vtt"] == media["captions_vtt"]
    g.pop("staff", None)
    assert client.post(captions_url, data={"captions": corrected}).status_code == 302
    saved = _media(world)[0]
    assert saved["captions_edited"] and "will answer your questions tonight." in saved["captions_vtt"]
    assert transcribe.run(str(world.tenant.id), str(media["id"])) == "edited by staff"   # never overwritten
    assert transcribe.run(str(uuid.uuid4()), str(media["id"])) == "not found"             # another tenant's id

    with tenant_scope(world.tenant.id) as tx:   # the transcript carries the caption text
        from services.rooms.actions import change_state
        change_state(tx, world.host, world.room["id"], "closed")
    text = wait_until(lambda: _transcript_text(world), 60, 0.3, "the transcript")
    assert "Introduction from the Commissioner:\nThe Police and Crime Commissioner will answer your questions tonight." in text


def _transcript_text(world):
    with tenant_scope(world.tenant.id) as tx:
        return tx.value("select text from transcripts where room_id = %s", [world.room["id"]])


_shared: dict = {}


@pytest.fixture()
def upload_world(make_world):
    """One live room for the refused uploads (none of them may write anything)."""
    if "world" not in _shared:
        _shared["world"] = make_world(state="live")
    return _shared["world"]


@pytest.mark.parametrize("name, data, message", [
    ("empty.wav", b"", "The file is empty (0 bytes)"),
    ("notes.wav", b"These are meeting notes, not a recording.\n" * 20, "not an audio or video recording"),
    ("broken.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 200, "could not find any sound"),
    ("page.mp4", b"\x00\x00\x00\x18ftypmp42" + b"<html>not a video</html>" * 10, "could not find any sound"),
])
def test_malformed_uploads_are_refused_clearly_and_leave_nothing(app_ctx, app, upload_world, client, signed_in,
                                                                 name, data, message):
    world = upload_world
    signed_in(world.tenant, world.admin)
    response = _upload(client, world, name, data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    _assert_nothing_written(app, world)


def test_too_large_uploads_are_refused(app_ctx, app, upload_world, client, signed_in, clip):
    world = upload_world
    signed_in(world.tenant, world.admin)
    original = app.config["TOWNHALL"]
    app.config["TOWNHALL"] = original.with_overrides(media_max_bytes=64 * 1024)
    try:
        response = _upload(client, world, "long.wav", clip.read_bytes() * 3)
    finally:
        app.config["TOWNHALL"] = original
    assert response.status_code == 422 and "The file is larger than the 64 KB limit." in response.get_data(as_text=True)
    _assert_nothing_written(app, world)


def test_moderators_cannot_upload(app_ctx, app, upload_world, client, signed_in, clip):
    world = upload_world
    signed_in(world.tenant, world.moderator)
    response = _upload(client, world, "intro.wav", clip.read_bytes())
    assert response.status_code == 403 and "Your role does not allow this action." in response.get_data(as_text=True)
    _assert_nothing_written(app, world)


def _assert_nothing_written(app, world):
    assert _media(world) == []
    media_dir = app.config["TOWNHALL"].media_dir
    from pathlib import Path
    assert not (Path(media_dir) / str(world.tenant.id)).exists() or not any((Path(media_dir) / str(world.tenant.id)).iterdir())
    assert not list((Path(media_dir) / "tmp").glob("*.part"))


def test_word_error_rate_and_speed_on_three_spoken_clips(tmp_path):
    results = measure.measure(tmp_path)
    print("\n" + measure.table(results))
    total_words = sum(len(measure.words(r.text)) for r in results)
    overall = sum(r.wer * len(measure.words(r.text)) for r in results) / total_words
    assert overall <= 0.35 and all(r.rtf < 1.0 for r in results)


def test_a_recording_whose_task_was_lost_is_found_by_the_sweep(app_ctx, make_world, worker, clip):
    from datetime import datetime, timedelta, timezone
    from services.media import actions
    from workers.captions.tasks import sweep

    world = make_world(state="live")
    upload, size = actions.receive(io.BytesIO(clip.read_bytes()), 10 * 1024 * 1024)
    with tenant_scope(world.tenant.id) as tx:
        media = actions.attach_media(tx, world.admin, world.room["id"], title="Lost task", upload=upload, size=size)
        tx._after_commit.clear()   # as if Redis lost the task
    assert sweep.run(datetime.now(timezone.utc).isoformat()) == 0   # not overdue yet
    assert sweep.run((datetime.now(timezone.utc) + timedelta(minutes=11)).isoformat()) == 1
    done = wait_until(lambda: [m for m in _media(world) if m["status"] == "ready"], 90, 0.3, "captions")
    assert done[0]["id"] == media["id"] and done[0]["captions_vtt"].startswith("WEBVTT")


def test_another_tenants_staff_cannot_see_or_change_recordings(app_ctx, make_world, make_staff, client, signed_in,
                                                              clip):
    from services.media import actions

    world = make_world(state="live")
    upload, size = actions.receive(io.BytesIO(clip.read_bytes()), 10 * 1024 * 1024)
    with tenant_scope(world.tenant.id) as tx:
        media = actions.attach_media(tx, world.admin, world.room["id"], title="Private", upload=upload, size=size)
        tx._after_commit.clear()
    other = make_world(state="live")
    signed_in(other.tenant, other.admin)
    g.pop("staff", None)
    assert client.get(f"/t/{other.tenant.slug}/console/media/{media['id']}/captions").status_code == 404
    g.pop("staff", None)
    assert client.post(f"/t/{other.tenant.slug}/console/media/{media['id']}/captions",
                       data={"captions": "WEBVTT\n\n00:00.000 --> 00:01.000\nhacked\n"}).status_code == 404
    g.pop("staff", None)
    assert client.get(f"/t/{other.tenant.slug}/console/rooms/{world.room['id']}/media").status_code == 404
    assert client.get(f"/t/{other.tenant.slug}/media/{media['id']}").status_code == 404
    assert _media(world)[0]["captions_vtt"] is None
