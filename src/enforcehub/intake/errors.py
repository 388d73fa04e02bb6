"""Errors and notices raised by the intake readers (see ``enforcehub.intake.readers`` for the code list)."""

from __future__ import annotations

from dataclasses import dataclass

from enforcehub.errors import EnforcehubError

MB = 1024 * 1024


class ReadError(EnforcehubError):
    """A file could not be read; ``code`` is stable kebab-case, the messages name the place.

    The messages are written for the clerk who sent the file: they say what is wrong, where
    (file, row, column, sheet) and, where it helps, what to do about it. ``message(lang)`` comes
    from :class:`EnforcehubError` ('en' for English, Chinese otherwise).
    """

    code = "read-error"

    def __init__(
        self,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message_zh, code=code, message_en=message_en)
        self.row = row
        self.column = column

    def __repr__(self) -> str:
        return f"ReadError({self.code!r}, row={self.row!r}, {self.message_en!r})"


@dataclass
class ReaderNotice:
    """Something the reader did or noticed that the sender should know about, but not fatal."""

    code: str
    message_zh: str
    message_en: str
    row: int | None = None
    column: str | None = None

    def message(self, lang: str = "zh") -> str:
        """Return the message in ``lang`` ('zh' or 'en')."""
        return self.message_en if lang == "en" else self.message_zh


def fmt_size(n: int) -> str:
    """Human-readable size: '16.0 MB', or KB below one megabyte (small limits in tests and configs)."""
    if n >= MB:
        return f"{n / MB:.1f} MB"
    return f"{n / 1024:.1f} KB"


def column_letter(index: int) -> str:
    """Spreadsheet column letter for a 0-based column index (0 -> 'A', 26 -> 'AA')."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def shorten(text: str, limit: int = 40) -> str:
    """Cut a cell text for quoting in a message (hostile or huge cells must not flood the message)."""
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"
