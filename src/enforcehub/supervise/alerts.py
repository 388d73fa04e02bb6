"""Evaluating the supervision rules into the `alerts` table, and working with alerts.

`evaluate_alerts` brings the facts up to date, runs each rule (supervise/kinds.py) over the facts of
its dataset as of a day, and reconciles the rules' alerts in one write transaction:

- a detection whose key is new → a new `open` alert;
- a detection whose alert exists → its records and detail are updated when they changed
  (`fingerprint`), its status is left alone: an alert a person closed stays closed;
- an alert closed by `system` that is detected again → reopened;
- an `open` alert no longer detected (the record was corrected or revoked, a seizure was released)
  → closed by `system` with a note.

Keys are stable (rule:record, rule:counterparty:first day, rule:group hash), so evaluating again
with the same facts and day changes nothing, and never duplicates an alert.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine

from enforcehub.errors import EnforcehubError
from enforcehub.standard.model import Standard
from enforcehub.store import consumers as consumer_store
from enforcehub.store import supervision as store
from enforcehub.store.db import read_transaction, write_transaction
from enforcehub.supervise.facts import CONSUMER, FactsRefresh, refresh_facts
from enforcehub.supervise.kinds import DETECTION_SCHEMA, Context, detect
from enforcehub.supervise.ruleset import Rule, load_rules, rule_columns, rule_frame

SYSTEM = "system"
NO_LONGER_DETECTED = "不再检出（记录已更正、撤销或情况已消除）/ no longer detected"
LOCAL = zoneinfo.ZoneInfo("Asia/Shanghai")


class AlertNotFound(EnforcehubError):
    code = "alert-not-found"


class AlertError(EnforcehubError):
    code = "alert-invalid"


@dataclass
class RuleOutcome:
    rule: str
    detected: int = 0
    opened: int = 0
    updated: int = 0
    reopened: int = 0
    closed: int = 0
    seconds: float = 0.0


@dataclass
class Evaluation:
    """What one evaluation did, rule by rule."""

    as_of: dt.date
    facts: FactsRefresh
    rules: list[RuleOutcome] = field(default_factory=list)
    records: int = 0  # fact rows the rules looked at
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "facts": self.facts.as_dict(),
            "records": self.records,
            "seconds": round(self.seconds, 3),
            "rules": [{**r.__dict__, "seconds": round(r.seconds, 3)} for r in self.rules],
        }


def today() -> dt.date:
    """Today in Asia/Shanghai (business dates are local, invariant 6)."""
    return dt.datetime.now(LOCAL).date()


def select_rules(rule_ids: Sequence[str] | None = None, rules: dict[str, Rule] | None = None) -> list[Rule]:
    """The rules to run: all (packaged) rules, or those named."""
    known = rules if rules is not None else load_rules()
    if not rule_ids:
        return list(known.values())
    unknown = [r for r in rule_ids if r not in known]
    if unknown:
        raise AlertError(
            f"未知监督规则：{'、'.join(unknown)}（可用：{'、'.join(known)}）",
            message_en=f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(known)}",
        )
    return [known[r] for r in rule_ids]


def officer_registry(conn: Connection) -> pl.DataFrame:
    """The officer registry: cert_number, officer_agency, cert_issue_date, cert_valid_until."""
    data = store.current_data(conn, "officer")
    fields = ("cert_number", "agency_uscc", "cert_issue_date", "cert_valid_until")
    frame = pl.DataFrame({"data": data}, schema={"data": pl.Utf8})
    decoded = frame["data"].str.json_decode(dtype=pl.Struct({f: pl.Utf8 for f in fields})).struct.unnest()
    return decoded.select(
        pl.col("cert_number").str.strip_chars(),
        pl.col("agency_uscc").str.strip_chars().str.to_uppercase().alias("officer_agency"),
        pl.col("cert_issue_date").str.slice(0, 10).str.to_date(strict=False),
        pl.col("cert_valid_until").str.slice(0, 10).str.to_date(strict=False),
    ).unique("cert_number", keep="first")


def detections(
    rules: Sequence[Rule], facts: dict[str, pl.DataFrame], context: Context
) -> dict[str, tuple[pl.DataFrame, float]]:
    """Each rule's detections (and the seconds it took) over facts per dataset."""
    frames = {name: rule_frame(frame) for name, frame in facts.items()}
    out: dict[str, tuple[pl.DataFrame, float]] = {}
    for rule in rules:
        started = time.perf_counter()
        frame = frames.get(rule.dataset)
        found = detect(rule, frame, context) if frame is not None else pl.DataFrame(schema=DETECTION_SCHEMA)
        out[rule.id] = (found, time.perf_counter() - started)
    return out


def _fingerprint(ids: list[int], detail: str) -> str:
    return hashlib.blake2b(json.dumps(ids).encode() + b"\x00" + detail.encode(), digest_size=16).hexdigest()


def evaluate_alerts(
    engine: Engine,
    *,
    as_of: dt.date | None = None,
    rule_ids: Sequence[str] | None = None,
    rules: dict[str, Rule] | None = None,
    standard: Standard | None = None,
    refresh: bool = True,
    now: dt.datetime | None = None,
) -> Evaluation:
    """Bring the facts up to date (`refresh`), run the rules as of `as_of` (default: today in
    Asia/Shanghai) and reconcile their alerts. Idempotent for the same facts and day."""
    started = time.perf_counter()
    day = as_of or today()
    stamp = now or dt.datetime.now(dt.UTC)
    chosen = select_rules(rule_ids, rules)
    refreshed = refresh_facts(engine, standard) if refresh else FactsRefresh()
    datasets = sorted({r.dataset for r in chosen})
    with read_transaction(engine) as conn:
        facts = {
            d: store.read_facts(
                conn,
                datasets=[d],
                columns=sorted(set().union(*(rule_columns(r) for r in chosen if r.dataset == d))),
            )
            for d in datasets
        }
        officers = officer_registry(conn) if any(r.kind == "min-officers" for r in chosen) else None
    found = detections(chosen, facts, Context(as_of=day, officers=officers))
    outcomes: list[RuleOutcome] = []
    with write_transaction(engine) as conn:
        # One reconciliation at a time (PostgreSQL; SQLite has one writer): the consumer row as the lock.
        consumer_store.get_consumer(conn, CONSUMER, for_update=True)
        states = store.alert_states(conn, [r.id for r in chosen])
        for rule in chosen:
            frame, seconds = found[rule.id]
            outcome = _reconcile(
                conn, rule, frame, states.filter(pl.col("key").str.starts_with(f"{rule.id}:")), stamp
            )
            outcome.seconds = seconds
            outcomes.append(outcome)
    return Evaluation(
        as_of=day,
        facts=refreshed,
        rules=outcomes,
        records=sum(f.height for f in facts.values()),
        seconds=time.perf_counter() - started,
    )


def _reconcile(
    conn: Connection, rule: Rule, found: pl.DataFrame, states: pl.DataFrame, now: dt.datetime
) -> RuleOutcome:
    outcome = RuleOutcome(rule=rule.id, detected=found.height)
    existing = {row["key"]: row for row in states.iter_rows(named=True)}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in found.iter_rows(named=True):
        ids = sorted(int(i) for i in row["record_ids"])
        keys = [str(k) for k in row["record_keys"]]
        fingerprint = _fingerprint(ids, row["detail"])
        content = {
            "record_id": ids[0]
            if len(ids) == 1 and rule.kind in ("record-condition", "deadline", "min-officers")
            else None,
            "record_ids": json.dumps(ids, separators=(",", ":")),
            "record_keys": json.dumps(keys, ensure_ascii=False),
            "record_count": len(ids),
            "agency_uscc": row["agency_uscc"],
            "region": row["region"],
            "city": row["city"],
            "act_date": row["act_date"],
            "detail": row["detail"],
            "fingerprint": fingerprint,
        }
        state = existing.pop(row["key"], None)
        if state is None:
            inserts.append(
                {
                    "key": row["key"],
                    "rule": rule.id,
                    "dataset": rule.dataset,
                    "severity": rule.severity,
                    **content,
                    "status": "open",
                    "detected_at": now,
                    "updated_at": now,
                    "closed_by": None,
                    "closed_at": None,
                    "note": None,
                }
            )
            continue
        reopen = state["status"] == "closed" and state["closed_by"] == SYSTEM
        if reopen:
            outcome.reopened += 1
            store.set_alert_state(
                conn, state["id"], status="open", closed_by=None, closed_at=None, updated_at=now
            )
        if state["fingerprint"] != fingerprint:
            outcome.updated += 1
            updates.append({"b_id": state["id"], **content, "severity": rule.severity, "updated_at": now})
    store.insert_alerts(conn, inserts)
    store.update_alerts(conn, updates)
    outcome.opened = len(inserts)
    for state in existing.values():  # no longer detected
        if state["status"] == "open":
            outcome.closed += 1
            store.set_alert_state(
                conn,
                state["id"],
                status="closed",
                closed_by=SYSTEM,
                closed_at=now,
                note=NO_LONGER_DETECTED,
                updated_at=now,
            )
    return outcome


def list_alerts(
    engine: Engine, where: store.AlertFilter, *, limit: int = 100, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """(total, page) of alerts matching `where`, newest detection first."""
    with read_transaction(engine) as conn:
        return store.list_alerts(conn, where, limit=limit, offset=offset)


def get_alert(engine: Engine, alert_id: int) -> dict[str, Any]:
    with read_transaction(engine) as conn:
        found = store.get_alert(conn, alert_id)
    if found is None:
        raise AlertNotFound(f"预警 {alert_id} 不存在", message_en=f"no alert {alert_id}")
    return found


def close_alert(
    engine: Engine, alert_id: int, *, by: str, note: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Close an alert by a person with a note (required: why it needs no further action). It stays
    closed whatever later evaluations find."""
    if not by.strip() or by.strip() == SYSTEM:
        raise AlertError("须写明关闭人", message_en=f"give who closes the alert (not {SYSTEM!r})")
    if not note.strip():
        raise AlertError("关闭预警须填写说明", message_en="closing an alert needs a note")
    stamp = now or dt.datetime.now(dt.UTC)
    with write_transaction(engine) as conn:
        found = store.get_alert(conn, alert_id, for_update=True)
        if found is None:
            raise AlertNotFound(f"预警 {alert_id} 不存在", message_en=f"no alert {alert_id}")
        store.set_alert_state(
            conn,
            alert_id,
            status="closed",
            closed_by=by.strip(),
            closed_at=stamp,
            note=note.strip(),
            updated_at=stamp,
        )
        closed = store.get_alert(conn, alert_id)
    assert closed is not None
    return closed


def reopen_alert(engine: Engine, alert_id: int, *, by: str, note: str | None = None) -> dict[str, Any]:
    """Open a closed alert again (a person changed their mind); the next evaluation closes it by
    `system` if it is no longer detected."""
    stamp = dt.datetime.now(dt.UTC)
    with write_transaction(engine) as conn:
        found = store.get_alert(conn, alert_id, for_update=True)
        if found is None:
            raise AlertNotFound(f"预警 {alert_id} 不存在", message_en=f"no alert {alert_id}")
        text = f"{by.strip()} 重新打开" + (f"：{note.strip()}" if note and note.strip() else "")
        store.set_alert_state(
            conn, alert_id, status="open", closed_by=None, closed_at=None, note=text, updated_at=stamp
        )
        reopened = store.get_alert(conn, alert_id)
    assert reopened is not None
    return reopened
