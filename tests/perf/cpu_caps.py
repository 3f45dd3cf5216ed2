"""A CPU cap per server process for the scale-out scenario: a cgroup `cpu` quota, as a pod's CPU limit.

On a 2-core machine that also runs the load generator, two server processes have no second core to
scale onto, so "two processes vs one" measured uncapped is the generator's figure, not the
server's. Giving every server process the same fixed budget (the same kernel mechanism as a
Kubernetes CPU limit: CFS bandwidth control) makes each process the bottleneck of its share, as on
a cluster where each live pod has its own CPU; the throttling counters show that the cap was what
bound. Works with cgroup v1 (`/sys/fs/cgroup/cpu`) and v2 (`/sys/fs/cgroup` with the cpu
controller); where neither can be written, `available()` says why and nothing is capped.
"""
from __future__ import annotations

import os
from pathlib import Path

PERIOD_US = 20_000  # shorter than the kernel default 100 ms, so a throttled process stalls at most ~13 ms at a time
V1_ROOT = Path("/sys/fs/cgroup/cpu")
V2_ROOT = Path("/sys/fs/cgroup")


def _root() -> tuple[Path, int] | None:
    if (V1_ROOT / "cpu.cfs_quota_us").exists():
        return V1_ROOT, 1
    controllers = V2_ROOT / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return V2_ROOT, 2
    return None


def available() -> str | None:
    """None when caps can be set here, else why not."""
    found = _root()
    if found is None:
        return "no cgroup cpu controller"
    root, _ = found
    if not os.access(root, os.W_OK):
        return f"{root} is not writable"
    return None


class CpuCaps:
    """One cgroup per capped pid, each limited to `cores`; removed on close."""

    def __init__(self, cores: float, name: str = "townhall-bench") -> None:
        found = _root()
        if found is None or not 0 < cores:
            raise ValueError(available() or "cores must be above 0")
        self.root, self.version = found
        self.cores = cores
        self.name = name
        self.groups: list[Path] = []

    def cap(self, pids: list[int]) -> None:
        for pid in pids:
            group = self.root / f"{self.name}-{os.getpid()}-{pid}"
            group.mkdir(exist_ok=True)
            quota = int(self.cores * PERIOD_US)
            if self.version == 1:
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            (group / "cgroup.procs").write_text(str(pid))  # moves every thread of the process
            self.groups.append(group)

    def throttled(self) -> dict[str, float]:
        """Share of scheduling periods in which a capped process hit its quota (summed over groups)."""
        periods = throttled = 0
        for group in self.groups:
            stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
            periods += int(stat.get("nr_periods", 0))
            throttled += int(stat.get("nr_throttled", 0))
        return {"periods": periods, "throttled": throttled}

    def close(self) -> None:
        """Move anything still inside back to the parent group, then remove the groups."""
        for group in self.groups:
            try:
                for pid in (group / "cgroup.procs").read_text().split():
                    try:
                        (self.root / "cgroup.procs").write_text(pid)
                    except OSError:
                        pass  # exited meanwhile
                group.rmdir()
            except OSError:
                pass
        self.groups.clear()
