"""The project's error types. Each carries a stable kebab-case code and a message for people."""

from __future__ import annotations


class EnforcehubError(Exception):
    """Base of every error enforcehub raises on purpose; `code` is stable, `message` is for people."""

    code = "enforcehub-error"

    def __init__(self, message: str, *, code: str | None = None, message_en: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message_zh = message
        self.message_en = message_en or message

    def message(self, lang: str = "zh") -> str:
        """The message in `lang` ('zh' or 'en')."""
        return self.message_en if lang == "en" else self.message_zh


class StandardError(EnforcehubError):
    """A standard file is wrong; the message names the file and the place."""

    code = "standard-invalid"


class UnknownDatasetError(EnforcehubError):
    """A dataset name that is not part of the standard."""

    code = "unknown-dataset"
