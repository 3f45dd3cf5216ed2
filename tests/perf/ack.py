"""A moderator's command round trip on an idle live process: `approve`, call to acknowledgement.

    python -m tests.perf.ack [--calls 60]

Starts the Townhall benchmark target (one live process, embedded test stack), prepares one live
room, and times `approve` over one moderator connection: `--calls` warm-up calls, then `--calls`
measured ones. Prints p50 / p90 / max in milliseconds, and the live process's CPU time per
`approve` over the measured calls (user + system, from /proc; issue 18's target is <= 1 ms).
The figure an acknowledgement adds to every command (ask, vote, approve) before any load:
docs/benchmarks.md, rounds 3 and 4.
"""
from __future__ import annotations

import argparse
import asyncio
import time

from tests.perf.harness import ProcessMeter
from tests.perf.loadgen import percentile
from tests.perf.targets import TargetContext, load_target


APPROVE_CPU_TARGET_MS = 1.0


async def approve_round_trips(calls: int) -> tuple[list[float], float]:
    """Round-trip times of the measured calls (ms), and the live process's CPU ms per measured call."""
    target = load_target("townhall", TargetContext())
    await asyncio.to_thread(target.start, 1, True)
    try:
        await asyncio.to_thread(target.prepare, ["ack"])
        publisher = await target.publisher()
        try:
            timings, meter, cpu_at_start = [], ProcessMeter(target.server_pids()), 0.0
            for i in range(2 * calls):
                if i == calls:
                    cpu_at_start = meter.cpu()
                question_id = await asyncio.to_thread(target.next_question, "ack")
                started = time.perf_counter()
                reply = await publisher.client.call("approve", {"question_id": question_id})
                timings.append((time.perf_counter() - started) * 1000.0)
                if not reply.get("ok"):
                    raise RuntimeError(f"approve refused: {reply}")
            return timings[calls:], (meter.cpu() - cpu_at_start) * 1000.0 / calls
        finally:
            await publisher.close()
    finally:
        await asyncio.to_thread(target.stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args()
    timings, cpu_ms = asyncio.run(approve_round_trips(max(1, args.calls)))
    timings.sort()
    print(f"approve round trip over {len(timings)} calls: p50 {percentile(timings, 50):.2f} ms,"
          f" p90 {percentile(timings, 90):.2f} ms, max {timings[-1]:.2f} ms")
    verdict = "met" if cpu_ms <= APPROVE_CPU_TARGET_MS else "not met"
    print(f"live-process CPU per approve: {cpu_ms:.2f} ms (target <= {APPROVE_CPU_TARGET_MS:.0f} ms: {verdict})")


if __name__ == "__main__":
    main()
