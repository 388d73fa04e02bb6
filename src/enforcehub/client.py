"""A small HTTP client for a hub: what `enforcehub submit` (and later the relay) uses."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from enforcehub.errors import EnforcehubError

CONTENT_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
}


class HubClient:
    def __init__(self, base_url: str, key: str, *, timeout: float = 600.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, headers={"Authorization": f"Bearer {key}"}
        )

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            error = body.get("error", {})
            raise EnforcehubError(
                error.get("message") or response.text[:200],
                code=error.get("code", f"http-{response.status_code}"),
                message_en=error.get("message_en") or response.text[:200],
            )
        return body

    def submit_file(
        self, path: Path, dataset: str, *, policy: str = "accept-valid-rows", wait: bool = True
    ) -> dict[str, Any]:
        """Upload one file; with `wait`, poll until a background submission is done or failed."""
        try:
            with path.open("rb") as handle:
                response = self.http.post(
                    "/api/v1/submissions",
                    params={"dataset": dataset, "policy": policy},
                    files={
                        "file": (
                            path.name,
                            handle,
                            CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream"),
                        )
                    },
                )
        except httpx.HTTPError as exc:
            raise EnforcehubError(
                f"无法连接平台：{exc}", code="hub-unreachable", message_en=f"hub unreachable: {exc}"
            ) from None
        receipt = self._answer(response)
        while wait and receipt.get("status") == "processing":
            time.sleep(0.5)
            receipt = self.receipt(receipt["id"])
        return receipt

    def submit_records(self, records: list[dict[str, Any]], dataset: str, **params: str) -> dict[str, Any]:
        return self._answer(
            self.http.post(
                "/api/v1/submissions", params={"dataset": dataset, **params}, json={"records": records}
            )
        )

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.http.get(path, params={k: v for k, v in (params or {}).items() if v is not None})
        except httpx.HTTPError as exc:
            raise EnforcehubError(
                f"无法连接平台：{exc}", code="hub-unreachable", message_en=f"hub unreachable: {exc}"
            ) from None
        return self._answer(response)

    def receipt(
        self, submission_id: str, *, errors_page: int = 1, errors_page_size: int = 0
    ) -> dict[str, Any]:
        """The signed receipt with one page of its findings (`errors`; by default only their total)."""
        return self._get(
            f"/api/v1/submissions/{submission_id}",
            {"errors_page": errors_page, "errors_page_size": errors_page_size},
        )

    def submissions(self, **filters: Any) -> dict[str, Any]:
        """One page of the submissions this key may see: {"submissions": [receipt, …], "next": cursor}."""
        return self._get("/api/v1/submissions", filters)
