"""A CSV's bytes before DuckDB reads them: encoding, transcoding and one streamed scan.

Encoding: UTF-16 with a BOM, else UTF-8 (with or without BOM) when the file is valid UTF-8 or
holds a valid UTF-8 multi-byte sequence (:func:`has_utf8_multibyte`; its rows with invalid bytes
are rejected, ``encoding_invalid``), else Windows-1252; UTF-16 and Windows-1252 are transcoded to
a UTF-8 temporary file in streamed chunks (:func:`transcode`; bytes that do not decode become
invalid UTF-8, so their rows are rejected too).

The bytes are scanned once in large blocks (:class:`LineScan`: line breaks counted, NUL bytes and
over-long lines found at C speed); blank lines (:func:`blank_line_offsets`) are only looked for
when the rows and rejected lines do not already account for every line (see
:mod:`tkpk.ingest.csv_reader`).
"""

from __future__ import annotations

import codecs
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from tkpk.config import Limits
from tkpk.ingest.reading import CHUNK_BYTES, FILE_TOO_LARGE, FileProblem

#: U+FFFD, the replacement character, in UTF-8.
REPLACEMENT_UTF8 = "\ufffd".encode()


@dataclass
class LineScan:
    """Streamed facts about the bytes DuckDB will read: line breaks, NUL bytes and over-long
    lines. Cost per chunk: one ``count`` of line breaks and one ``find`` of a NUL byte (both
    C speed), plus a look at a few aligned windows for over-long lines.

    Blank lines are not looked for here: :func:`blank_line_offsets` finds them only when the
    rows DuckDB read do not already account for every line (see ``csv_reader._read_text``)."""

    max_line_bytes: int
    newlines: int = 0
    nul_bytes: int = 0
    first_nul_at: int | None = None
    long_line_at: int | None = None
    #: the bytes hold a U+FFFD replacement character (text already garbled by a conversion)
    replacement_char: bool = False
    #: the bytes hold a byte above 0x7F (not plain ASCII)
    non_ascii: bool = False
    #: look for a valid UTF-8 multi-byte sequence too (:attr:`utf8_multibyte`)
    track_utf8: bool = False
    #: with ``track_utf8``: the bytes hold a valid UTF-8 multi-byte sequence
    #: (:func:`has_utf8_multibyte` of the same bytes, without reading them again)
    utf8_multibyte: bool = False
    size: int = 0
    last_byte: int | None = None
    _last_newline: int = -1
    _tail: bytes = b""
    _utf8_tail: bytes = b""

    def feed(self, chunk: bytes) -> None:
        """Scan the next chunk (any size)."""
        if not chunk:
            return
        offset = self.size
        first_nul = chunk.find(b"\x00")
        if first_nul >= 0:
            if self.first_nul_at is None:
                self.first_nul_at = offset + first_nul
            self.nul_bytes += chunk.count(b"\x00")
        if self.long_line_at is None:
            self._scan_line_lengths(chunk, offset)
        self.newlines += chunk.count(b"\n")
        if self.track_utf8 and not self.utf8_multibyte:
            ascii_only = chunk.isascii()
            # a sequence across the boundary has a continuation byte in this chunk: not ASCII
            if not ascii_only:
                self.utf8_multibyte = _holds_utf8_multibyte(self._utf8_tail, chunk)
                self.non_ascii = True
            self._utf8_tail = (
                chunk[-3:] if len(chunk) >= 3 else (self._utf8_tail + chunk)[-3:]
            )
        elif not self.non_ascii:
            self.non_ascii = not chunk.isascii()
        if not self.replacement_char:
            # U+FFFD starts with the byte 0xEF, rare in these files: one ``memchr`` finds none
            # at C speed (the search of the three bytes was a third of the scan's CPU).
            edge = self._tail + chunk[:2]
            self.replacement_char = (
                chunk.find(REPLACEMENT_UTF8[:1]) >= 0 and REPLACEMENT_UTF8 in chunk
            ) or REPLACEMENT_UTF8 in edge
        self._tail = chunk[-2:]
        self.size += len(chunk)
        self.last_byte = chunk[-1]

    def finish(self) -> None:
        """Check the last line (no line break after it)."""
        if self.long_line_at is None and self.size - self._last_newline - 1 > self.max_line_bytes:
            self.long_line_at = self._last_newline + 1

    def _long(self, start: int, end: int) -> bool:
        """Record a line [start, end) longer than the limit."""
        if end - start > self.max_line_bytes:
            self.long_line_at = start
            return True
        return False

    def _scan_line_lengths(self, chunk: bytes, offset: int) -> None:
        """Any run without a line break longer than the limit. Inside the chunk such a run
        contains a whole aligned window of half the limit without a line break, so only those
        windows are examined."""
        first = chunk.find(b"\n")
        if first < 0:
            self._long(self._last_newline + 1, offset + len(chunk))
            return
        if self._long(self._last_newline + 1, offset + first):
            return
        half = max(1, self.max_line_bytes // 2)
        for window in range(0, len(chunk), half):
            if chunk.find(b"\n", window, window + half) >= 0:
                continue
            before = chunk.rfind(b"\n", 0, window)
            after = chunk.find(b"\n", window + half)
            if after < 0:
                break  # the run reaches the chunk's end: checked with the next chunk
            if self._long(offset + before + 1, offset + after):
                return
        self._last_newline = offset + chunk.rfind(b"\n")

    @property
    def physical_lines(self) -> int:
        """Lines in the file (a last line without a line break counts)."""
        return self.newlines + (1 if self.size and self.last_byte != ord("\n") else 0)


def blank_line_offsets(path: Path, start: int = 0) -> list[int]:
    """Byte offsets (at or after ``start``) of the empty lines of a CSV that are not inside a
    quoted value (an even number of quotes before them), streamed in chunks.

    Only called when needed (a file with rejected lines, or whose rows do not account for every
    line): a clean file is not read a second time.
    """
    offsets: list[int] = []
    quotes = 0
    tail = b""
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            data = tail + chunk
            base = size - len(tail)
            found = []
            for pattern in (b"\n\n", b"\n\r\n"):
                at = data.find(pattern)
                while at >= 0:
                    if at + len(pattern) > len(tail):
                        found.append(at)
                    at = data.find(pattern, at + 1)
            counted = len(tail)
            for at in sorted(found):
                if at > counted:
                    quotes += data.count(b'"', counted, at)
                    counted = at
                if quotes % 2 == 0 and base + at + 1 >= start:
                    offsets.append(base + at + 1)
            quotes += data.count(b'"', counted)
            size += len(chunk)
            tail = data[-2:]
    return offsets


def check_scan(scan: LineScan, name: str, limits: Limits) -> None:
    """Raise for NUL bytes and over-long lines."""
    if scan.nul_bytes:
        raise FileProblem(
            "file_unreadable",
            f"{name}: contains {scan.nul_bytes} NUL byte(s) (first at byte {scan.first_nul_at}), "
            "so it is not a plain-text CSV (corrupt copy, or UTF-16 without a byte-order mark); "
            "re-export it as CSV (UTF-8) and drop it again.",
        )
    if scan.long_line_at is not None:
        raise FileProblem(
            FILE_TOO_LARGE,
            f"{name}: a line starting at byte {scan.long_line_at} is longer than the limit of "
            f"{limits.max_line_bytes} bytes (TKPK_MAX_LINE_BYTES); check the export (a missing "
            "line break?) and drop a corrected file.",
        )


def raw_scan(limits: Limits) -> LineScan:
    """A fresh scan of a raw file's own bytes (before any transcoding), which also looks for a
    valid UTF-8 multi-byte sequence (``track_utf8``). The raw load makes it while hashing a new
    file (:meth:`tkpk.ingest.hash_cache.HashCache.prefetch`), so the file is read once for both;
    :func:`prepare_text` makes it itself otherwise."""
    return LineScan(limits.max_line_bytes, track_utf8=True)


def prepare_text(
    path: Path, temp_dir: Path, limits: Limits, scan: LineScan | None = None
) -> tuple[Path, str, LineScan]:
    """The file DuckDB will read first (``path`` itself, or a transcoded UTF-8 copy of a UTF-16
    file with a byte-order mark), its encoding, and the scan of its bytes (``scan``: the
    finished :func:`raw_scan` of the file's current bytes when the caller has it already, made
    while hashing them; else the file is scanned here).

    UTF-8 validity is left to DuckDB (invalid lines are rejected as ``INVALID ENCODING``; see
    :func:`tkpk.ingest.csv_reader.read_csv_records` for what follows): one pass less over big
    UTF-8 files.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return transcode(path, temp_dir, "utf-16", limits)
    if scan is None:
        scan = raw_scan(limits)
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                scan.feed(chunk)
        scan.finish()
    return path, "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8", scan


#: Name of the codec error handler that marks undecodable bytes (see :func:`_mark_undecodable`).
MARK_UNDECODABLE = "tkpk-mark-undecodable"


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: an undecodable sequence becomes lone surrogates that
    ``surrogateescape`` encodes back as bytes that are invalid UTF-8 in the transcoded file: the
    bytes themselves when they are all UTF-8 continuation bytes (0x80-0xBF, e.g. the bytes
    Windows-1252 leaves undefined: a stray continuation byte is never valid after a complete
    character), else one 0xFF byte."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    if all(0x80 <= b <= 0xBF for b in bad):
        return "".join(chr(0xDC00 + b) for b in bad), error.end
    return "\udcff", error.end


codecs.register_error(MARK_UNDECODABLE, _mark_undecodable)

#: A valid UTF-8 multi-byte sequence (2 to 4 bytes, no overlong form, no surrogate).
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


#: Byte classes for the pre-filter of :func:`has_utf8_multibyte`: ``L`` a lead byte of a
#: multi-byte sequence (0xC2-0xF4), ``C`` a continuation byte (0x80-0xBF), ``.`` any other.
_BYTE_CLASS = bytes(
    ord("L") if 0xC2 <= b <= 0xF4 else ord("C") if 0x80 <= b <= 0xBF else ord(".")
    for b in range(256)
)


def has_utf8_multibyte(path: Path) -> bool:
    """True when the file holds at least one valid UTF-8 multi-byte sequence (streamed in
    chunks, stops at the first one; a sequence across a chunk boundary is found too).

    Every such sequence starts with a lead byte followed by a continuation byte: a chunk
    without that pair (classified with ``bytes.translate``, C speed) is passed over, and only a
    chunk with one is searched with the exact pattern."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            if _holds_utf8_multibyte(tail, chunk):
                return True
            tail = chunk[-3:]
    return False


def _holds_utf8_multibyte(tail: bytes, chunk: bytes) -> bool:
    """Whether ``chunk``, or a sequence starting in ``tail`` (the previous chunk's last 3
    bytes) and ending in it, is a valid UTF-8 multi-byte sequence (see
    :func:`has_utf8_multibyte`)."""
    window = tail + chunk[:3] if tail else b""
    for part in (window, chunk):
        if b"LC" in part.translate(_BYTE_CLASS) and _UTF8_MULTIBYTE.search(part):
            return True
    return False


def transcode(path: Path, temp_dir: Path, encoding: str, limits: Limits):
    """Stream ``path`` from ``encoding`` into a UTF-8 temporary file; scan the output. A byte
    sequence that does not decode (a broken UTF-16 surrogate, a byte Windows-1252 leaves
    undefined) becomes invalid UTF-8 (:func:`_mark_undecodable`), so its line is rejected and
    quarantined (``encoding_invalid``) instead of carrying a replacement character."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    target = temp_dir / f"transcoded-{uuid.uuid4().hex}.csv"
    scan = LineScan(limits.max_line_bytes)
    decoder = codecs.getincrementaldecoder(encoding)(errors=MARK_UNDECODABLE)
    with path.open("rb") as source, target.open("wb") as sink:
        while chunk := source.read(CHUNK_BYTES):
            text = decoder.decode(chunk)
            if encoding == "utf-16":
                text = text.lstrip("\ufeff") if scan.size == 0 else text
            out = text.encode("utf-8", "surrogateescape")
            scan.feed(out)
            sink.write(out)
        out = decoder.decode(b"", final=True).encode("utf-8", "surrogateescape")
        scan.feed(out)
        sink.write(out)
    scan.finish()
    return target, encoding, scan
