"""Signed receipts: an HMAC-SHA256 over the receipt's canonical JSON, so an agency can prove what the
hub accepted. `verify_receipt` recomputes it; any changed field breaks the signature.

What is signed is the receipt's content: every field except `signature` itself and `errors` (the page
of findings GET /api/v1/submissions/{id} adds on request — a view that changes with the page asked
for). The findings are accounted for by the signed `counts` (`errors`, `warnings`, `rejected`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

ALGORITHM = "hmac-sha256"
NOT_SIGNED = frozenset({"signature", "errors"})


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signed_content(receipt: dict[str, Any]) -> dict[str, Any]:
    """The part of a receipt the signature covers: everything but `signature` and `errors`."""
    return {k: v for k, v in receipt.items() if k not in NOT_SIGNED}


def sign_receipt(body: dict[str, Any], secret: str) -> dict[str, Any]:
    """The receipt's content with `signature` = 'hmac-sha256:<hex>' over it."""
    content = signed_content(body)
    digest = hmac.new(secret.encode(), _canonical(content), hashlib.sha256).hexdigest()
    return {**content, "signature": f"{ALGORITHM}:{digest}"}


def verify_receipt(receipt: dict[str, Any], secret: str) -> bool:
    """True when the receipt's signature matches its content (an `errors` page is not part of it)."""
    expected = sign_receipt(receipt, secret)["signature"]
    return hmac.compare_digest(str(receipt.get("signature", "")), expected)
