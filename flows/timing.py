"""Stage timings of a run: wall time, CPU time and peak memory of each step of the flow.

The nightly flow wraps each of its tasks in ``StageClock.stage(name)``; the timings end up in the
run summary (``RunSummary.stages``) and in the flow's returned dict, where the benchmark
(``benchmarks/pipeline_bench.py``) reads them.

- wall: ``time.perf_counter``; CPU: ``time.process_time`` (user + system of every thread of the
  process, DuckDB's worker threads included);
- peak memory: the resident set's high-water mark (``VmHWM``) of the process, DuckDB included.
  On Linux the mark is reset at the start of each stage (``/proc/self/clear_refs``), so each stage
  reports its own peak; where that is not possible the value is the process peak so far and
  ``peak_scope`` says ``process``.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field_name: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), None when unavailable."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb() -> float:
    """The process's resident high-water mark, MB (since start or the last reset)."""
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def rss_mb() -> float | None:
    """The process's current resident memory, MB."""
    kb = _status_kb("VmRSS")
    return None if kb is None else kb / 1024


def reset_peak() -> bool:
    """Reset the resident high-water mark to the current RSS; False when the OS does not allow."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


@dataclass
class StageTiming:
    """Wall time, CPU time and peak memory of one stage."""

    name: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    rss_start_mb: float | None
    peak_scope: str


@dataclass
class StageClock:
    """Collects the timings of the stages of one run, in order."""

    stages: list[StageTiming] = field(default_factory=list)
    #: Optional terminal progress (``flows.progress.StageProgress``) told of each stage.
    progress: object | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage ``name`` (recorded even when the block raises)."""
        if self.progress is not None:
            self.progress.start(name)
        scope = "stage" if reset_peak() else "process"
        start_rss = rss_mb()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.stages.append(
                StageTiming(
                    name=name,
                    wall_s=round(time.perf_counter() - wall, 3),
                    cpu_s=round(time.process_time() - cpu, 3),
                    peak_rss_mb=round(peak_rss_mb(), 1),
                    rss_start_mb=None if start_rss is None else round(start_rss, 1),
                    peak_scope=scope,
                )
            )
            if self.progress is not None:
                self.progress.finish(name)

    def as_list(self) -> list[dict]:
        """The timings as plain dicts (for the run summary)."""
        return [asdict(s) for s in self.stages]
