"""Terminal progress of the nightly job: drawn on a terminal, silent otherwise."""

from __future__ import annotations

from flows.progress import StageProgress
from flows.timing import StageClock


def test_stages_and_files_are_shown_when_enabled():
    progress = StageProgress(enabled=True)
    clock = StageClock(progress=progress)
    with clock.stage("load"):
        for index, name in enumerate(["a.csv", "b.csv"]):
            progress.file_started(index, 2, name)
    tasks = {t.description: (t.completed, t.total) for t in progress._progress.tasks}
    progress.close()
    assert tasks["loading new raw files"] == (1, 1)
    assert tasks["raw files"] == (2, 2)
    assert [s["name"] for s in clock.as_list()] == ["load"]


def test_nothing_is_drawn_without_a_terminal():
    progress = StageProgress(enabled=False)
    with StageClock(progress=progress).stage("load"):
        progress.file_started(0, 1, "a.csv")
    assert progress._progress is None
