"""Text encodings of uploaded files: BOM sniffing, UTF-8 vs GB18030 detection, streaming transcoding.

Government files are mostly UTF-8 (often with a BOM, Excel's "CSV UTF-8") or GBK. GB18030 is a
superset of GBK, so GBK files are decoded as GB18030. The decision is made once from a sample;
later blocks that do not decode are errors with a row number, not silent mojibake.
"""

from __future__ import annotations

import codecs
from typing import IO, BinaryIO

import numpy as np

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Before the first undecodable byte, this many bytes >= 0x80 that were valid UTF-8 mean the file
# is UTF-8 with a corrupt byte, not GBK: GBK text breaks UTF-8 decoding within a few characters,
# and decoding real UTF-8 as GB18030 "succeeds" with mojibake, which must never happen silently.
UTF8_EVIDENCE_BYTES = 64


class DecodeFailure(Exception):
    """The sample (or a block) is not valid in any supported encoding; ``offset`` is the first bad byte."""

    def __init__(self, offset: int, byte: int | None) -> None:
        super().__init__(offset)
        self.offset = offset
        self.byte = byte


def sniff_bom(head: bytes) -> tuple[str | None, int]:
    """Return (encoding, BOM length) when ``head`` starts with a byte-order mark, else (None, 0)."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name, len(bom)
    return None, 0


def _try_decode(sample: bytes, encoding: str, complete: bool) -> UnicodeDecodeError | None:
    # The incremental decoder with final=False tolerates a multibyte character cut by the sample end.
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=complete)
    except UnicodeDecodeError as exc:
        return exc
    return None


def detect_encoding(sample: bytes, complete: bool) -> str:
    """Decide 'utf-8' or 'gb18030' for a BOM-less sample; raise DecodeFailure if neither fits.

    ``complete`` says the sample is the whole file (so a truncated character at its end is an error).
    A pure-ASCII sample is 'utf-8'; the CSV reader may still switch to GB18030 later if the
    first non-ASCII block turns out to be GBK.
    """
    if sample.isascii():
        return "utf-8"
    utf8_error = _try_decode(sample, "utf-8", complete)
    if utf8_error is None:
        return "utf-8"
    prefix = np.frombuffer(sample, dtype=np.uint8, count=utf8_error.start)
    if int(np.count_nonzero(prefix >= 0x80)) >= UTF8_EVIDENCE_BYTES:
        raise DecodeFailure(utf8_error.start, sample[utf8_error.start])
    gb_error = _try_decode(sample, "gb18030", complete)
    if gb_error is None:
        return "gb18030"
    # Report where the more plausible encoding (the one that got further) broke down.
    offset = max(utf8_error.start, gb_error.start)
    return _raise_failure(sample, offset)


def _raise_failure(sample: bytes, offset: int) -> str:
    raise DecodeFailure(offset, sample[offset] if offset < len(sample) else None)


def transcode_to_utf8(src: BinaryIO, encoding: str, dest: IO[bytes], chunk_bytes: int = 4 << 20) -> None:
    """Stream ``src`` (in ``encoding``, e.g. 'utf-16-le', BOM already skipped) into ``dest`` as UTF-8.

    Used for UTF-16 files (Excel's "Unicode text"), whose bytes cannot be split on b'\\n' safely.
    Raises DecodeFailure with ``offset`` = the line number (1-based) where decoding failed, since
    byte offsets mean nothing to the sender.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines = 1
    while True:
        block = src.read(chunk_bytes)
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            lines += codecs.decode(exc.object[: exc.start], encoding, "replace").count("\n")
            raise DecodeFailure(lines, None) from None
        lines += text.count("\n")
        if text:
            dest.write(text.encode("utf-8"))
        if not block:
            return
