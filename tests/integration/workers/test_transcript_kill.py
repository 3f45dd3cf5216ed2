"""A worker killed (SIGKILL) in the middle of a transcript task leaves no partial transcript, and
the task completes once on another worker (acks_late + reject_on_worker_lost; the broker
redelivers after a short visibility timeout set by CELERY_VISIBILITY_TIMEOUT)."""
from __future__ import annotations

from tenants.db import tenant_scope
from tests.integration.workers.helpers import answer_and_close
from tests.support.workers import start_worker, wait_until
from workers.celery_app import celery_app

VISIBILITY = "8"   # seconds; longer than the task takes on the second worker, so it is never redelivered twice


def test_killed_mid_transcript_then_completed_once_elsewhere(app_ctx, make_world, worker_env, work_dir):
    celery_app.control.purge()
    marker = work_dir / "transcript-marker"
    slow = start_worker(worker_env, work_dir, queues="default", name="worker-slow",
                        extra_env={"TOWNHALL_TEST_TRANSCRIPT_DELAY": "120", "TOWNHALL_TEST_TRANSCRIPT_MARKER": str(marker),
                                   "CELERY_VISIBILITY_TIMEOUT": VISIBILITY})
    try:
        world = make_world(state="live")
        answer_and_close(world, "Dana", "When will the new station open?", "Next spring.")   # enqueues the build
        wait_until(lambda: (marker / str(world.room["id"])).exists(), 60, 0.2, "the task to reach its pause")
        slow.kill()   # mid-task: built, not stored
    finally:
        slow.kill()
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from transcripts where room_id = %s", [world.room["id"]]) == 0

    rescuer = start_worker(worker_env, work_dir, queues="default", name="worker-rescuer",
                           extra_env={"CELERY_VISIBILITY_TIMEOUT": VISIBILITY})
    try:
        def stored():
            with tenant_scope(world.tenant.id) as tx:
                return tx.one("select generation, text from transcripts where room_id = %s", [world.room["id"]])
        row = wait_until(stored, 60, 0.3, "the redelivered task")
        assert row["generation"] == 1 and "Next spring." in row["text"]
    finally:
        rescuer.stop()
    assert stored()["generation"] == 1   # completed once
