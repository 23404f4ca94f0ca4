"""Raw-file discovery: which files are in the raw folder, their content hash, and what their
names say (kind, period, program, channel, stage).

Files are taken in name order. Hidden files (a name starting with ``.`` or ``~$``: ``.gitkeep``,
editor and office lock files), folders, links and entries that cannot be examined are not read,
but each is reported with why (:func:`discover_all`; the run records it as ``file_ignored``). The
content hash (SHA-256) identifies a file: the same bytes under another name are the same file.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from tkpk.ingest.schema import kind_of

#: Bytes read per step while hashing (bounded memory for any file size).
HASH_CHUNK_BYTES = 4 * 1024 * 1024

_TOKEN_SPLIT = re.compile(r"[\s_.\-]+")
_STAGE = re.compile(r"tahap[\s_\-]*(\d{1,2})(?!\d)")

#: Kinds whose file name must carry a month (``YYYYMM``); the others accept ``YYYY`` too.
MONTHLY_KINDS = ("households", "members", "pbi")


@dataclass(frozen=True)
class FileName:
    """What a raw file's name says, per the input contract.

    ``program_tokens`` are the name's words that may name the program (longest candidate first);
    they are resolved against the catalog by :func:`resolve_program`.
    """

    kind: str | None
    period: date | None
    period_end: date | None
    stage: int | None
    program_candidates: tuple[tuple[str, str | None], ...]
    problem: str | None = None


@dataclass(frozen=True)
class RawFile:
    """A file found in the raw folder, with what its name says (parsed once, at discovery: the
    raw loader and everything after it use ``parsed``, never the name again)."""

    path: Path
    name: str
    size: int
    parsed: FileName


@dataclass(frozen=True)
class IgnoredEntry:
    """An entry of the raw folder that is not read, and why (recorded as ``file_ignored``)."""

    name: str
    why: str


#: Name prefixes of hidden files: dot files and office lock files (``~$report.xlsx``).
HIDDEN_PREFIXES = (".", "~$")


def discover(raw_dir: Path) -> list[RawFile]:
    """The regular, non-hidden files directly in ``raw_dir``, in name order (see
    :func:`discover_all`, which also reports the entries that are not read)."""
    return discover_all(raw_dir)[0]


def discover_all(raw_dir: Path) -> tuple[list[RawFile], list[IgnoredEntry]]:
    """The files to read directly in ``raw_dir`` and the entries passed over, both in name order.

    A file to read is a regular file whose name does not start with ``.`` or ``~$``. Every other
    entry is passed over with a reason: a hidden file, a folder, a broken symbolic link or one
    to a folder or to anything but a regular file (a link to a regular file is read like the
    file), a device, pipe or socket, or an entry whose status cannot be read. A missing folder
    has no entries. Each file's name is parsed here (:func:`parse_file_name`), once.
    """
    if not raw_dir.is_dir():
        return [], []
    found: list[RawFile] = []
    ignored: list[IgnoredEntry] = []
    for entry in raw_dir.iterdir():
        why, size = _examine(entry)
        if why is None:
            parsed = parse_file_name(entry.name)
            found.append(RawFile(path=entry, name=entry.name, size=size, parsed=parsed))
        else:
            ignored.append(IgnoredEntry(entry.name, why))
    return sorted(found, key=lambda f: f.name), sorted(ignored, key=lambda e: e.name)


def _examine(entry: Path) -> tuple[str | None, int]:
    """(why the entry is not read, or None; its size in bytes)."""
    try:
        info = entry.lstat()
    except OSError as error:
        return f"its status cannot be read ({type(error).__name__})", 0
    if stat.S_ISLNK(info.st_mode):
        try:
            target = entry.stat()
        except OSError:
            return "a broken symbolic link (its target does not exist or cannot be reached)", 0
        if stat.S_ISDIR(target.st_mode):
            return "a symbolic link to a folder; files in sub-folders are not read", 0
        if not stat.S_ISREG(target.st_mode):
            return "a symbolic link to something that is not a regular file", 0
        info = target  # a link to a regular file is read like the file
    if stat.S_ISDIR(info.st_mode):
        return "a folder; files in sub-folders are not read (drop them in the raw folder)", 0
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, pipe or socket)", 0
    if entry.name.startswith("~$"):
        return "an office lock file (name starts with '~$'); it is not an export", 0
    if entry.name.startswith("."):
        return "a hidden file (name starts with '.'); it is not read", 0
    return None, info.st_size


def sha256_of(
    path: Path, chunk_bytes: int = HASH_CHUNK_BYTES, feed: Callable[[bytes], None] | None = None
) -> str:
    """Hex SHA-256 of a file, streamed in chunks; ``feed`` (when given) is handed each chunk too,
    so that another scan of the bytes shares this read (:meth:`HashCache.prefetch`)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
            if feed is not None:
                feed(chunk)
    return digest.hexdigest()


def _tokens(file_name: str) -> list[str]:
    """Lower-case words of a file name without its extension."""
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    return [t for t in _TOKEN_SPLIT.split(stem.lower()) if t]


def _month_token(token: str) -> date | None:
    """``YYYYMM`` -> first day of that month, or None."""
    if len(token) == 6 and token.isdigit():
        year, month = int(token[:4]), int(token[4:])
        if 1900 <= year <= 2100 and 1 <= month <= 12:
            return date(year, month, 1)
    return None


def _year_token(token: str) -> int | None:
    """``YYYY`` -> the year, or None (``3375``, a region code, is not a year)."""
    if len(token) == 4 and token.isdigit() and 1900 <= int(token) <= 2100:
        return int(token)
    return None


def parse_file_name(file_name: str) -> FileName:
    """Kind, period, stage and program candidates from a raw file name.

    - kind: the contract's prefix (``dtsen_keluarga_``, ``salur_`` ...), case-insensitive;
    - period: the first ``YYYYMM`` word (a month), else the first ``YYYY`` word (a year:
      January to December); registry snapshots and PBI-JK lists need the month;
    - stage: ``tahapN``;
    - program candidates: ``salur_<program>_<channel>_...`` (the program may be several words,
      the channel is what follows it), ``pbi_jk_...``, ``bantuan_<program>_<YYYY>...``.

    ``problem`` says why the name does not follow the contract (the file is then quarantined as
    ``file_kind_unknown``).
    """
    kind = kind_of(file_name)
    if kind is None:
        return FileName(None, None, None, None, (), "the name does not start with a known prefix")
    words = _tokens(file_name)
    period = period_end = None
    period_index = None
    for index, word in enumerate(words):
        month = _month_token(word)
        if month is not None:
            period = month
            period_end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
            period_index = index
            break
    if period is None and kind not in MONTHLY_KINDS:
        for index, word in enumerate(words):
            year = _year_token(word)
            if year is not None:
                period, period_end, period_index = date(year, 1, 1), date(year, 12, 31), index
                break
    if period is None:
        wanted = "YYYYMM" if kind in MONTHLY_KINDS else "YYYYMM or YYYY"
        return FileName(kind, None, None, None, (), f"the name carries no period ({wanted})")
    stage_match = _STAGE.search(file_name.lower())
    stage = int(stage_match.group(1)) if stage_match else None
    return FileName(
        kind=kind,
        period=period,
        period_end=period_end,
        stage=stage,
        program_candidates=_program_candidates(kind, words[:period_index]),
    )


def _program_candidates(kind: str, words: list[str]) -> tuple[tuple[str, str | None], ...]:
    """(program text, channel) candidates, longest program first, from the words before the
    period. ``salur``: the words after the program are the channel; ``pbi``: the prefix is part
    of the program's name (``pbi_jk``); ``bantuan``: the words after the prefix."""
    if kind == "disbursements":
        body = words[1:]
        candidates = [
            ("_".join(body[:k]), "_".join(body[k:]) or None) for k in range(len(body), 0, -1)
        ]
        return tuple(candidates)
    if kind == "pbi":
        return tuple(("_".join(words[:k]), None) for k in range(len(words), 0, -1)) + (
            ("pbi_jk", None),
        )
    if kind == "local":
        body = words[1:]
        return tuple(("_".join(body[:k]), None) for k in range(len(body), 0, -1))
    return ()


def resolve_program(
    con: duckdb.DuckDBPyConnection, parsed: FileName
) -> tuple[str | None, str | None]:
    """(program code, channel) from the name, through ``ref_program_alias`` (``program_key``).

    The first candidate whose text resolves wins; when none does, the program is None and a
    disbursement file's channel is its last word before the period (``salur_xyz_bri_...``).
    """
    if not parsed.program_candidates:
        return None, None
    texts = [text for text, _ in parsed.program_candidates]
    rows = con.execute(
        """
        select c.ordinal, a.code
        from (select unnest(?) as text, generate_subscripts(?, 1) as ordinal) as c
        join ref_program_alias as a on a.alias_key = program_key(c.text)
        order by c.ordinal
        limit 1
        """,
        [texts, texts],
    ).fetchall()
    if rows:
        ordinal, code = rows[0]
        return code, parsed.program_candidates[ordinal - 1][1]
    if parsed.kind == "disbursements" and len(parsed.program_candidates) > 1:
        # The longest candidate is "program_channel"; its last word is the channel.
        longest = parsed.program_candidates[0][0]
        return None, longest.rsplit("_", 1)[-1]
    return None, None
