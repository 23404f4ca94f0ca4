"""Progress on the terminal for long steps of the nightly job.

Shown only when the run is attached to a terminal (``tkpk run`` by hand): a spinner with the
elapsed time for each stage of the flow, and a bar over the raw files while they are loaded. A
scheduled run (no terminal) shows nothing here; its logs name the file and the step instead.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

#: What each stage of the flow does, as shown next to its spinner.
STAGE_LABELS = {
    "pull": "pulling new extracts from the sources",
    "open": "opening the warehouse",
    "load": "loading new raw files",
    "validate": "normalising and validating (Great Expectations)",
    "transform": "computing the indicators",
    "commit": "committing the warehouse",
    "checkpoint": "writing the warehouse file (checkpoint)",
    "publish": "writing, auditing and publishing the packs",
    "data_docs": "publishing the Data Docs",
}


def attached_to_terminal() -> bool:
    """True when standard error is an interactive terminal."""
    return sys.stderr.isatty()


@dataclass
class StageProgress:
    """Spinners per stage and a bar per file; a no-op when ``enabled`` is False."""

    enabled: bool = field(default_factory=attached_to_terminal)
    _progress: Progress | None = None
    _stage: TaskID | None = None
    _files: TaskID | None = None

    def start(self, stage: str) -> None:
        """A stage begins."""
        if not self.enabled:
            return
        if self._progress is None:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
        self._stage = self._progress.add_task(STAGE_LABELS.get(stage, stage), total=None)

    def finish(self, stage: str) -> None:
        """The current stage ended (successfully or not)."""
        if self._progress is None or self._stage is None:
            return
        self._progress.update(self._stage, total=1, completed=1)
        self._stage = None

    def file_started(self, index: int, total: int, name: str) -> None:
        """File ``index`` (0-based) of ``total`` is being read."""
        if self._progress is None:
            return
        if self._files is None:
            self._files = self._progress.add_task("raw files", total=total)
        self._progress.update(self._files, completed=index, description=f"raw file {name}")
        if index + 1 == total:
            self._progress.update(self._files, completed=total, description="raw files")

    def close(self) -> None:
        """Stop drawing (before the summary is printed)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
