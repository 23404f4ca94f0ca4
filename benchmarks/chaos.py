"""Chaos benchmark: nightly runs SIGKILLed at seeded random points, then rerun; the packs must
verify and equal those of uninterrupted runs, night after night.

A generated drop is split into nights by the month in each file name (a growing raw folder:
night k holds every file of the first k months; files without a month arrive on night 1). Two
installations receive the same files each night:

- the reference: one uninterrupted ``tkpk run`` per night, its packs kept per night;
- the chaos installation: a ``tkpk run`` killed with SIGKILL at a point drawn from a seeded random
  generator, then a plain rerun. A point is either a named crash point between statements
  (``TKPK_CRASH_AT``: ``after_load``, ``ingest:<kind>``, ``transform:<model>``, ``pack_writing``,
  ``before_publish``, ``before_swap``; see ``tkpk.publish.atomic.crashpoint``), or a time-based
  kill at a random moment of the run, which lands inside whatever statement is running (load,
  validation, a transform, the export or the audit), sent by this script after a random delay
  between 0 and 90 % of the reference run's duration of that night.

After the kill: the packs that are published (if any) must verify against their manifests. After
the rerun: both packs verify and every table equals the reference's of that night (rows compared
sorted; run ids and ``already_loaded`` bookkeeping rows aside, ``tests/ops_support.pack_tables``).

    PYTHONPATH=. .venv/bin/python benchmarks/chaos.py --nights 6 --households 600 --seed 1

prints JSON (per night: the kill point, whether it was hit, the stage the run was in, the
differences) and writes it to ``benchmarks/results/chaos.json``. ``tests/test_chaos.py`` runs a
short version (2 nights, small data).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1] / "tests"
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import ops_support  # noqa: E402
from ops_support import Place, pack_tables  # noqa: E402

#: Named crash points between statements (``transform:`` and ``ingest:`` are completed below).
NAMED_POINTS = ("after_load", "pack_writing", "before_publish", "before_swap")
#: Share of nights killed at a random moment (inside a statement) rather than a named point.
TIMED_SHARE = 0.5
MONTH = re.compile(r"_(20[0-9]{2})(0[1-9]|1[0-2])(?:[_.])")


@dataclass
class Night:
    """One chaos night: the kill point, what happened, and the differences found."""

    night: int
    files: int
    point: str
    hit: bool = False
    killed_in: str = ""
    previous_packs_verify: bool = True
    rerun_code: int = 0
    packs_verify: bool = False
    differences: list[str] = field(default_factory=list)
    reference_s: float = 0.0
    chaos_s: float = 0.0


def nights_of(raw: Path) -> list[list[str]]:
    """The drop's file names by night: night k adds the files of the k-th month."""
    months: dict[str, list[str]] = {}
    undated = []
    for path in sorted(raw.iterdir()):
        found = MONTH.search(path.name)
        if found:
            months.setdefault(found.group(1) + found.group(2), []).append(path.name)
        else:
            undated.append(path.name)
    ordered = [months[m] for m in sorted(months)]
    if ordered:
        ordered[0] = undated + ordered[0]
    return ordered


#: File name prefix -> raw kind (raw-extracts.md), for the ``ingest:<kind>`` points of a night.
KIND_PREFIXES = {"dtsen_keluarga_": "households", "dtsen_anggota_": "members",
                 "salur_": "disbursements", "pbi_jk_": "pbi", "bantuan_": "local"}


def kill_points(new_files: list[str], first_night: bool) -> list[str]:
    """The named crash points a run over ``new_files`` passes: the ingest points of the kinds it
    loads, the transform points of the models it builds (every model on a full build: the
    first night or a registry snapshot; else those an incremental build always rebuilds)."""
    from transforms.incremental import rebuilt_after, rebuilt_before
    from transforms.models import graph

    kinds = sorted({kind for name in new_files for prefix, kind in KIND_PREFIXES.items()
                    if name.lower().startswith(prefix)})
    full = first_night or {"households", "members"} & set(kinds)
    models = graph().order if full else (*rebuilt_before(), *rebuilt_after())
    return [*NAMED_POINTS, *(f"ingest:{k}" for k in kinds), *(f"transform:{m}" for m in models)]


def draw_point(rng: random.Random, points: list[str]) -> str:
    """A seeded random kill point: ``timed`` (a random moment) or one of the named ``points``."""
    return "timed" if rng.random() < TIMED_SHARE else rng.choice(points)


#: The nightly flow's tasks and the stage each belongs to (flows/nightly.py).
TASK_STAGES = {
    "open_warehouse": "open", "load_raw_files": "load", "validate_and_accept": "validate",
    "build_indicators": "transform", "commit_warehouse": "commit",
    "checkpoint_warehouse": "checkpoint", "publish": "publish",
    "publish_validation_docs": "data_docs",
}


def _stage_in(output: str) -> str:
    """Where a time-based kill landed: the stage after the last task the run's output reports
    finished (Prefect logs a task run when it ends)."""
    order = list(TASK_STAGES)
    finished = [t for t in re.findall(r"Task run '([a-z_]+)-[0-9a-f]+'", output) if t in order]
    if not finished:
        return "open"
    following = order.index(finished[-1]) + 1
    return TASK_STAGES[order[following]] if following < len(order) else "summary"


def verify(out: Path) -> bool:
    """Both published packs verify against their manifests (False when none is published)."""
    from tkpk.publish.manifest import verify_manifest

    packs = [out / pack for pack in ops_support.PACKS]
    return all((p / "manifest.json").exists() and verify_manifest(p) == [] for p in packs)


def compare(first: dict, second: dict) -> list[str]:
    """Names of the tables that differ (or exist on one side only)."""
    return sorted(name for name in set(first) | set(second)
                  if first.get(name) != second.get(name))


def add_files(place: Place, sample: Path, names: list[str]) -> None:
    place.raw.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (place.raw / name).exists():
            os.link(sample / name, place.raw / name)


def run_chaos(work: Path, nights: int, households: int, seed: int) -> dict:
    """Generate, run ``nights`` nights on both installations, return the record."""
    from tkpk.synth import generate

    rng = random.Random(seed)
    sample = work / "sample"
    months = f"2026-01:2026-{max(nights, 2):02d}"
    generate(out_dir=sample / "raw", side_dir=sample / "synth", households=households,
             months=months, seed=seed, region="33.75", messiness=0.02)
    batches = nights_of(sample / "raw")[:nights]
    forker = ops_support.shared_forker()
    reference, chaos = Place(work / "reference"), Place(work / "chaos")
    record: list[Night] = []
    for number, names in enumerate(batches, start=1):
        add_files(reference, sample / "raw", names)
        add_files(chaos, sample / "raw", names)
        ran = forker.run(reference.run_argv(), env=reference.env())
        if ran.code != 0:
            raise RuntimeError(f"reference night {number} failed:\n{ran.output[-3000:]}")
        expected = pack_tables(reference.out)
        night = Night(night=number, files=len(list(chaos.raw.iterdir())),
                      point=draw_point(rng, kill_points(names, number == 1)),
                      reference_s=round(ran.seconds, 1))
        started = time.monotonic()
        if night.point == "timed":
            delay = rng.uniform(0.2, max(0.9 * ran.seconds, 0.5))
            night.point = f"timed:{delay:.1f}s"
            pid, log = forker.start(chaos.run_argv(), env=chaos.env())
            time.sleep(delay)
            with contextlib.suppress(ProcessLookupError):  # the run ended before the delay
                os.kill(pid, signal.SIGKILL)
            killed = forker.finish(log)
        else:
            from tkpk.publish.atomic import CRASH_ENV

            killed = forker.run(chaos.run_argv(), env=chaos.env(**{CRASH_ENV: night.point}))
        night.hit = killed.code == -9
        night.killed_in = _stage_in(killed.output) if night.hit else "completed"
        if (chaos.out / "current").exists():
            night.previous_packs_verify = verify(chaos.out)
        rerun = forker.run(chaos.run_argv(), env=chaos.env())
        night.chaos_s = round(time.monotonic() - started, 1)
        night.rerun_code = rerun.code
        night.packs_verify = verify(chaos.out)
        night.differences = compare(expected, pack_tables(chaos.out)) if rerun.code == 0 else [
            f"rerun failed: {rerun.output[-2000:]}"
        ]
        record.append(night)
    return {
        "nights": len(record),
        "households": households,
        "seed": seed,
        "kills_hit": sum(n.hit for n in record),
        "differences": sum(len(n.differences) for n in record),
        "all_verify": all(n.packs_verify and n.previous_packs_verify for n in record),
        "per_night": [asdict(n) for n in record],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=6)
    parser.add_argument("--households", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "chaos.json")
    args = parser.parse_args()
    result = run_chaos(ops_support.root() / "chaos", args.nights, args.households, args.seed)
    text = json.dumps(result, indent=1)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
