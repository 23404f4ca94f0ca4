"""Publication of the curated tables: the restricted pack and the suppressed Bappeda pack.

Entry point: ``publish_packs(con, settings, run_id) -> PublishResult``. Readers pin a published
version with ``resolve_pack(settings, "restricted" | "bappeda")``.
"""

from tkpk.publish.packs import PublishError, PublishResult, publish_packs, resolve_pack
from tkpk.publish.pseudonym import PseudonymKeyError, load_key
from tkpk.publish.suites import OutputValidationError

__all__ = [
    "OutputValidationError",
    "PseudonymKeyError",
    "PublishError",
    "PublishResult",
    "load_key",
    "publish_packs",
    "resolve_pack",
]
