"""The raw archive: every submission's bytes, content-addressed by sha256, written before anything else.

Files are written to a temporary name and renamed into place, so an archived blob is either
complete or absent; the same bytes submitted twice are stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from enforcehub.errors import EnforcehubError


class ArchiveError(EnforcehubError):
    code = "archive-failed"


@dataclass(frozen=True)
class ArchivedBlob:
    sha256: str
    size: int
    path: Path


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def archive_chunks(root: Path, chunks: Iterable[bytes], *, max_bytes: int | None = None) -> ArchivedBlob:
    """Stream `chunks` into the archive under `root`; refuse (and keep nothing) past `max_bytes`."""
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle = tempfile.NamedTemporaryFile(dir=root, prefix=".incoming-", delete=False)  # noqa: SIM115
    try:
        with handle:
            for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ArchiveError(
                        f"文件超过大小上限 {max_bytes // (1 << 20)} MB",
                        code="file-too-large",
                        message_en=f"the upload exceeds the limit of {max_bytes // (1 << 20)} MB",
                    )
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        sha = digest.hexdigest()
        target = blob_path(root, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(handle.name)
        else:
            os.replace(handle.name, target)
        return ArchivedBlob(sha, size, target)
    except BaseException:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
        raise


def archive_bytes(root: Path, content: bytes) -> ArchivedBlob:
    """Archive one in-memory body (an API call)."""
    return archive_chunks(root, [content])
