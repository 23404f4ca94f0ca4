"""Support for the operations tests (tests/test_ops_*.py).

- ``shared_server()``: one real Prefect server on loopback for the whole test session
  (``prefect server start`` with a temporary ``PREFECT_HOME`` and SQLite), stopped at exit.
- ``shared_forker()``: one process that has imported the pipeline once and forks a fresh child
  per nightly run (``tkpk run`` through the CLI). A run can then be killed with SIGKILL, or run
  with its output captured, without paying the import time (tens of seconds on a loaded
  two-core machine) for every run.
- ``shared_sample()``: one small generated sample (raw extracts) for the session.
- pack helpers: manifest checks, Parquet table contents for comparisons.

Everything lives under one temporary folder removed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

VENV_BIN = Path(sys.executable).parent
TESTS_DIR = Path(__file__).resolve().parent
#: A strong-enough key for production mode (>= 16 bytes); synthetic, test only.
TEST_KEY = "ops-test-pseudonym-key-0123456789"
#: Generous: a two-core machine shared by several test suites.
SERVER_START_TIMEOUT = 240.0
RUN_TIMEOUT = 240.0

SAMPLE_HOUSEHOLDS = 300
SAMPLE_MONTHS = "2026-08:2026-10"
SAMPLE_SEED = 20260701

_root: Path | None = None
_lock = threading.RLock()


def root() -> Path:
    """The session's temporary folder for the operations tests (removed at exit)."""
    global _root
    with _lock:
        if _root is None:
            _root = Path(tempfile.mkdtemp(prefix="tkpk-ops-"))
            atexit.register(shutil.rmtree, _root, True)
        return _root


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 30) -> None:
    """Stop a process started in its own session (and its children): ``sig``, then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


# --------------------------------------------------------------------------- Prefect server


@dataclass
class PrefectServer:
    """``prefect server start`` on loopback with its own PREFECT_HOME (SQLite database)."""

    home: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def env(self) -> dict[str, str]:
        """Environment of the server process."""
        return {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            # the scheduler creates a deployment's upcoming runs within seconds
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
            "PREFECT_LOGGING_SERVER_LEVEL": "WARNING",
        }

    def start(self) -> None:
        """Start the server (returns at once; ``wait_healthy`` waits for it)."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = self.env()
        env.pop("PREFECT_API_URL", None)
        log = open(self.home / "server.log", "wb")  # noqa: SIM115 (owned by the process)
        self.process = subprocess.Popen(
            [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-ui"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_healthy(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"prefect server exited early:\n{self.log_tail()}")
            if self.healthy():
                return
            time.sleep(1)
        raise TimeoutError(f"prefect server not healthy after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM)


_server: PrefectServer | None = None


def shared_server(wait: bool = True) -> PrefectServer:
    """The session's Prefect server (started on first use, stopped at exit)."""
    global _server
    with _lock:
        if _server is None:
            _server = PrefectServer(home=root() / "prefect-home")
            _server.start()
            atexit.register(_server.stop)
    if wait:
        _server.wait_healthy()
    return _server


# --------------------------------------------------------------------------- forked runs

FORKER = r"""
import json, os, sys, traceback
sys.path.insert(0, {tests!r})
import flows.nightly, flows.serve, tkpk.cli, tkpk.ingest.raw, tkpk.ingest.accept  # noqa
import tkpk.publish, tkpk.validation, transforms.runner  # noqa
out = sys.stdout
out.write("ready\n"); out.flush()
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.environ.update(job["env"])
            for name in job["unset"]:
                os.environ.pop(name, None)
            try:
                tkpk.cli.app(job["argv"], prog_name="tkpk")
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except BaseException:
            traceback.print_exc()
        finally:
            import atexit
            atexit._run_exitfuncs()  # what a normal exit does (Prefect flushes its API logs)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    out.write(json.dumps({{"pid": pid}}) + "\n"); out.flush()
    _, status = os.waitpid(pid, 0)
    out.write(json.dumps({{"code": os.waitstatus_to_exitcode(status)}}) + "\n"); out.flush()
"""


@dataclass
class RunResult:
    """Outcome of one forked ``tkpk`` command: exit code (-9: SIGKILL) and captured output."""

    code: int
    output: str
    seconds: float


class Forker:
    """A process that imported the pipeline once and forks one child per ``tkpk`` command."""

    def __init__(self, api_url: str, env: dict[str, str] | None = None) -> None:
        self.env = {
            **os.environ,
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "TKPK_DUCKDB_THREADS": "2",
            "TKPK_DUCKDB_MEMORY": "2GB",
            **(env or {}),
        }
        self.lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-c", FORKER.format(tests=str(TESTS_DIR))],
            env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            start_new_session=True,
        )
        self.ready = False
        self.count = 0

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        if self.ready:
            return
        line = self._read_line(timeout)
        if line.strip() != "ready":
            raise RuntimeError(f"forker did not start: {line!r}")
        self.ready = True

    def _read_line(self, timeout: float) -> str:
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            raise TimeoutError(f"no answer from the forker within {timeout} s")
        return result[0]

    def start(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        unset: list[str] | None = None,
        log: Path | None = None,
    ) -> tuple[int, Path]:
        """Start ``tkpk <argv>`` in a forked child; returns its pid and the log path. Call
        ``finish`` before starting another."""
        self.wait_ready()
        self.count += 1
        log = log or root() / "logs" / f"run-{self.count:03d}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        job = {"argv": argv, "env": env or {}, "unset": unset or [], "log": str(log)}
        self.lock.acquire()
        self._started = time.monotonic()
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        pid = json.loads(self._read_line(60))["pid"]
        return pid, log

    def finish(self, log: Path, timeout: float = RUN_TIMEOUT) -> RunResult:
        """Wait for the running child; its exit code and output."""
        try:
            code = json.loads(self._read_line(timeout))["code"]
        finally:
            self.lock.release()
        return RunResult(code, log.read_text(errors="replace"), time.monotonic() - self._started)

    def run(self, argv: list[str], **kwargs) -> RunResult:
        """Run ``tkpk <argv>`` in a forked child and wait for it."""
        _, log = self.start(argv, **kwargs)
        return self.finish(log)

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, grace=10)


_forker: Forker | None = None


def shared_forker() -> Forker:
    """The session's forker, pointed at the shared Prefect server."""
    global _forker
    server = shared_server(wait=False)
    with _lock:
        if _forker is None:
            _forker = Forker(server.api_url)
            atexit.register(_forker.stop)
    server.wait_healthy()
    _forker.wait_ready()
    return _forker


# --------------------------------------------------------------------------- sample and folders


_sample: Path | None = None


def shared_sample() -> Path:
    """The raw folder of the session's small generated sample (do not modify: copy it)."""
    global _sample
    with _lock:
        if _sample is None:
            from tkpk.synth import generate

            folder = root() / "sample"
            generate(
                out_dir=folder / "raw", side_dir=folder / "synth", households=SAMPLE_HOUSEHOLDS,
                months=SAMPLE_MONTHS, seed=SAMPLE_SEED, region="33.75", messiness=0.02,
            )
            _sample = folder / "raw"
        return _sample


def sample_side(name: str) -> Path:
    """A side file of the shared sample (``files.csv``, ``defects.csv``)."""
    return shared_sample().parent / "synth" / name


@dataclass(frozen=True)
class Place:
    """The folders of one pipeline installation (raw, curated, warehouse, temp)."""

    base: Path

    @property
    def raw(self) -> Path:
        return self.base / "raw"

    @property
    def out(self) -> Path:
        return self.base / "curated"

    @property
    def db(self) -> Path:
        return self.base / "warehouse.duckdb"

    def run_argv(self) -> list[str]:
        return ["run", "--raw", str(self.raw), "--out", str(self.out), "--db", str(self.db)]

    def env(self, **extra: str) -> dict[str, str]:
        """Environment of a run here (key from the environment, temp and local key inside)."""
        return {
            "TKPK_PSEUDONYM_KEY": TEST_KEY,
            "TKPK_TEMP": str(self.base / "tmp"),
            "TKPK_LOCAL_KEY_FILE": str(self.base / "local.key"),
            **extra,
        }

    def copy_to(self, target: Path) -> Place:
        """A copy of this installation (symlinks kept: the packs' links are relative)."""
        shutil.copytree(self.base, target, symlinks=True)
        return Place(target)


# --------------------------------------------------------------------------- packs

PACKS = ("restricted", "bappeda")
#: Tables whose rows carry the run id: compared without it, and without the bookkeeping rows
#: of runs that loaded nothing (``already_loaded``).
RUN_BOOKKEEPING = {"data_quality", "data_quality_reason"}


def manifest(out: Path, pack: str = "restricted") -> dict:
    """The published manifest of ``pack``."""
    return json.loads((out / pack / "manifest.json").read_text(encoding="utf-8"))


def published_version(out: Path) -> str:
    """Name of the published version folder."""
    return (out / "current").resolve().name


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def table_rows(path: Path) -> list[tuple]:
    """All rows of a Parquet file, sorted (run bookkeeping: without run ids and no-op rows)."""
    with duckdb.connect() as con:
        relation = f"read_parquet('{path}')"
        columns = [r[0] for r in con.execute(f"describe select * from {relation}").fetchall()]
        if path.stem in RUN_BOOKKEEPING:
            keep = [c for c in columns if c != "run_id"]
            where = " where file_outcome <> 'already_loaded'" if "file_outcome" in columns else ""
            query = f"select {', '.join(keep)} from {relation}{where}"
        else:
            query = f"select * from {relation}"
        return sorted(con.execute(query).fetchall(), key=repr)


def pack_tables(out: Path) -> dict[str, list[tuple]]:
    """``pack/table`` -> sorted rows, for every Parquet file of both published packs."""
    tables = {}
    for pack in PACKS:
        for path in sorted((out / pack).resolve().glob("*.parquet")):
            tables[f"{pack}/{path.stem}"] = table_rows(path)
    return tables
