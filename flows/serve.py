"""``tkpk serve``: the nightly flow as a scheduled deployment on a Prefect server.

The process registers the deployment ``tkpk-nightly/nightly`` with a cron schedule (02:00
Asia/Jakarta unless configured) and the folders as flow parameters, then runs each scheduled or
manually triggered flow run itself, one at a time. It needs a long-running Prefect server
(``PREFECT_API_URL``); see docs/operations.md for running both as services.

A failed run ends in Prefect's ``Failed`` state (``Crashed`` when the process was killed) and logs
one line saying what failed and which pack version is still published: a run never publishes
half, so the previous packs stay in place and the next run starts from a consistent warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect.schedules import Cron, validate_cron_string
from prefect.types.entrypoint import EntrypointType

from flows.nightly import nightly
from tkpk.config import Settings

#: Deployment name; the full name is ``tkpk-nightly/nightly``.
DEPLOYMENT_NAME = "nightly"
DEPLOYMENT_TAGS = ["tkpk", "nightly"]


class ServeConfigError(ValueError):
    """``tkpk serve`` cannot start: a setting is wrong or the Prefect server is not configured."""


@dataclass(frozen=True)
class ServePlan:
    """What ``tkpk serve`` registers: deployment name, schedule and flow parameters."""

    name: str
    cron: str
    timezone: str
    parameters: dict[str, object]

    @property
    def full_name(self) -> str:
        """``<flow name>/<deployment name>``, as ``run_deployment`` and the UI name it."""
        return f"{nightly.name}/{self.name}"


def plan(
    settings: Settings,
    name: str = DEPLOYMENT_NAME,
    cron: str | None = None,
    timezone: str | None = None,
) -> ServePlan:
    """The deployment for ``settings`` (``cron``/``timezone`` override the settings); raises
    ``ServeConfigError`` on an invalid cron expression or time zone."""
    cron = cron or settings.schedule_cron
    timezone = timezone or settings.schedule_timezone
    try:
        validate_cron_string(cron)
    except ValueError as error:
        raise ServeConfigError(f"invalid cron expression {cron!r}: {error}") from None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServeConfigError(
            f"unknown time zone {timezone!r}; use an IANA name such as Asia/Jakarta"
        ) from None
    parameters = {
        "raw_dir": str(settings.raw_dir),
        "out_dir": str(settings.curated_dir),
        "db_path": str(settings.warehouse),
        "force_publish": False,
    }
    return ServePlan(name=name, cron=cron, timezone=timezone, parameters=parameters)


def published_version(out_dir: str | Path) -> str:
    """The pack version currently published under ``out_dir`` (for failure messages)."""
    from tkpk.publish.atomic import current_version

    try:
        current = current_version(Path(out_dir))
    except OSError:
        current = None
    return current.name if current is not None else "none (nothing published yet)"


def failure_cause(state: object) -> str:
    """What a failed or crashed run's state says caused it, scrubbed of personal data: the
    exception itself when the state holds it (``scrub_error``), else the state's message (the
    flow's exceptions are already scrubbed: ``flows.failures``)."""
    from tkpk.publish.privacy import scrub_error

    error = getattr(state, "data", None)
    if isinstance(error, BaseException):
        return scrub_error(error) + "."
    return getattr(state, "message", None) or "no message"


def report_failure(flow: object, flow_run: object, state: object) -> None:
    """Flow hook (failed or crashed run): one clear log line on the run, naming the error and the
    pack version that stays published."""
    from prefect.logging.loggers import flow_run_logger

    parameters = getattr(flow_run, "parameters", None) or {}
    out_dir = parameters.get("out_dir")
    version = published_version(out_dir) if out_dir else "unknown"
    kind = getattr(state, "type", None)
    kind = getattr(kind, "value", kind) or "FAILED"
    message = failure_cause(state)
    flow_run_logger(flow_run, flow).error(
        "tkpk nightly run %s %s. Cause: %s Nothing was half-published: the packs in %s are "
        "still version %s. Fix the cause, then trigger the deployment again or wait for the next "
        "scheduled run (files not loaded are retried).",
        getattr(flow_run, "name", "?"),
        kind,
        message,
        out_dir,
        version,
    )


def served_flow():
    """The nightly flow with the failure hooks of the service."""
    return nightly.with_options(on_failure=[report_failure], on_crashed=[report_failure])


def api_url() -> str:
    """The configured Prefect API; ``ServeConfigError`` when none is set (a schedule needs a
    long-running server, not the temporary one Prefect starts for single runs)."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ServeConfigError(
            "PREFECT_API_URL is not set: start a Prefect server (`prefect server start`) and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api in the service's environment"
        )
    return url


def check_key(settings: Settings) -> None:
    """Production mode: refuse to serve without ``TKPK_PSEUDONYM_KEY`` (every run would fail)."""
    from tkpk.publish.pseudonym import PRODUCTION, PseudonymKeyError, load_key

    if settings.mode == PRODUCTION:
        try:
            load_key(settings)
        except PseudonymKeyError as error:
            raise ServeConfigError(str(error)) from None


def serve_nightly(serve_plan: ServePlan, settings: Settings) -> None:
    """Register the deployment and run its flow runs until interrupted (SIGINT / Ctrl-C).

    At most one run at a time; the schedule is paused while the service is stopped, so missed
    nights do not pile up, and resumed when it starts again.
    """
    check_key(settings)
    api_url()
    # Flow.serve registers the flow object itself, so the runs (in child processes) and the
    # crash hooks (in this process) keep the failure hooks of ``served_flow``.
    served_flow().serve(
        name=serve_plan.name,
        schedules=[Cron(serve_plan.cron, timezone=serve_plan.timezone)],
        parameters=serve_plan.parameters,
        description=(
            "tkpk nightly job: ingest new raw extracts, validate, compute the indicators and "
            "publish the restricted and Bappeda packs."
        ),
        tags=DEPLOYMENT_TAGS,
        limit=1,
        pause_on_shutdown=True,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
