"""Prefect flows of the tkpk pipeline.

Without ``PREFECT_API_URL`` ``tkpk run`` runs the nightly flow's steps in its own process
(``flows.nightly.uses_prefect``); a Prefect run without it (``TKPK_ORCHESTRATION=prefect``, the
distributed flow, the tests' harness) gets a temporary local API server; these defaults
keep it offline (no telemetry) and give it time to start on a busy two-core machine. Set the
variables in the environment to override them (``tkpk serve`` points runs at a real server).
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
