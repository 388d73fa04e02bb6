"""Signed receipts: an HMAC-SHA256 over the receipt's canonical JSON, so an agency can prove what the
hub accepted. `verify_receipt` recomputes it; any changed field breaks the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

ALGORITHM = "hmac-sha256"


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign_receipt(body: dict[str, Any], secret: str) -> dict[str, Any]:
    """The receipt with `signature` = 'hmac-sha256:<hex>' over everything else in it."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    digest = hmac.new(secret.encode(), _canonical(unsigned), hashlib.sha256).hexdigest()
    return {**unsigned, "signature": f"{ALGORITHM}:{digest}"}


def verify_receipt(receipt: dict[str, Any], secret: str) -> bool:
    """True when the receipt's signature matches its content."""
    expected = sign_receipt(receipt, secret)["signature"]
    return hmac.compare_digest(str(receipt.get("signature", "")), expected)
