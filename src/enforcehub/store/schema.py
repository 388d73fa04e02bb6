"""The thematic database's tables (SQLAlchemy Core). Alembic migrations create exactly these.

Nothing is ever deleted: a record's history is its versions; a change is a row in `changes`
whose `seq` grows in commit order (see docs/architecture.md, "The change log").
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's rowid alias needs INTEGER

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("prefix", String(16), nullable=False, unique=True),  # shown in lists; the lookup key
    Column("key_hash", String(64), nullable=False),  # sha256 of the whole key (keys are 256-bit random)
    Column("role", String(16), nullable=False),  # admin agency platform consumer supervisor hub
    Column("name", String(200), nullable=False, default=""),
    Column("agency_uscc", String(18)),
    Column("region", String(6)),
    Column("consumer", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("dataset", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("filename", String(255)),
    Column("format", String(8), nullable=False),
    Column("channel", String(16), nullable=False),  # api file platform relay
    Column("policy", String(32), nullable=False),  # accept-valid-rows | reject-submission
    Column("principal_id", ID, ForeignKey("api_keys.id")),
    Column("principal", String(200), nullable=False),
    Column("source_system", String(200)),
    Column("origin_hub", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # received processing done failed
    Column("duplicate_of", String(32)),
    Column("received", Integer, nullable=False, default=0),
    Column("accepted", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("created", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("revoked", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("warnings", Integer, nullable=False, default=0),
    Column("failure", Text),  # why a submission failed (code: message)
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("signature", String(128)),
    Index(None, "sha256", "dataset"),
    Index(None, "status"),
    Index(None, "received_at", "id"),  # the newest-first listing
    Index(None, "principal_id", "received_at"),  # an agency's own submissions
)

findings = Table(
    "findings",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("submission_id", String(32), ForeignKey("submissions.id"), nullable=False),
    Column("row", Integer, nullable=False),
    Column("field", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("message", Text, nullable=False),
    Column("value", Text),
    Index(None, "submission_id", "row"),
    Index(None, "submission_id", "severity", "code"),  # the quality page counts without the rows
)

records = Table(
    "records",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("dataset", String(32), nullable=False),
    Column("business_key", String(400), nullable=False),
    Column("version_no", Integer, nullable=False),  # the current version: versions(record_id, version_no)
    Column("content_hash", String(32), nullable=False),
    Column("agency_uscc", String(18)),
    Column("region", String(6)),
    Column("counterparty_code", String(64)),
    Column("act_date", Date),
    Column("status", String(16)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("dataset", "business_key"),
    Index(None, "dataset", "region", "id"),
    Index(None, "counterparty_code"),
    Index(None, "dataset", "agency_uscc"),
)

versions = Table(
    "versions",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("record_id", ID, ForeignKey("records.id"), nullable=False),
    Column("version_no", Integer, nullable=False),
    Column("content_hash", String(32), nullable=False),
    Column("data", Text, nullable=False),  # the normalised record as canonical JSON
    Column("status", String(16)),
    Column("submission_id", String(32), ForeignKey("submissions.id"), nullable=False),
    Column("row", Integer),
    Column("principal", String(200), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("source_system", String(200)),
    Column("origin_hub", String(64), nullable=False),
    Column("origin_submission", String(64)),  # a relayed version keeps the city's submission id
    Column("received_at", DateTime(timezone=True), nullable=False),
    # A relayed version also keeps who reported it at the city, when the city received it and the
    # city's version number (the province's own lineage is in the columns above).
    Column("origin_principal", String(200)),
    Column("origin_received_at", DateTime(timezone=True)),
    Column("origin_version", Integer),
    UniqueConstraint("record_id", "version_no"),
)

changes = Table(
    "changes",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),  # commit-ordered, see store.changes
    Column("dataset", String(32), nullable=False),
    Column("record_id", ID, nullable=False),
    Column("version_id", ID, nullable=False),
    Column("kind", String(16), nullable=False),  # created updated revoked
    Column("region", String(6)),
    Column("submission_id", String(32), nullable=False),
    Column("committed_at", DateTime(timezone=True), nullable=False),
    Index(None, "dataset", "seq"),
)

# One row: the last change sequence number handed out. Writers lock it to number their changes,
# so sequence order is commit order (a later commit can never take a smaller number).
change_counter = Table(
    "change_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("principal", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(400), nullable=False),
    Column("detail", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "action", "id"),  # the audit API's filters, paged by id
    Index(None, "principal", "id"),
)

# --- sharing (report once, use many): consumers, their webhook messages, the publicity table --------

consumers = Table(
    "consumers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("title", String(200), nullable=False, default=""),
    Column("profile", String(64), nullable=False),  # a built-in profile's name, or the custom one's
    Column("profile_source", Text),  # a custom profile's YAML, kept so the consumer never changes shape
    Column("datasets", Text),  # JSON list narrowing the profile's datasets; NULL = all of them
    Column("region", String(6)),  # the region the consumer may see; NULL = the whole hub
    Column("mode", String(16), nullable=False),  # feed webhook export internal
    Column("webhook_url", Text),
    Column("webhook_secrets", Text),  # JSON list of whsec_ secrets, signing with each (rotation)
    Column("batch_size", Integer, nullable=False, default=100),
    Column("state", String(16), nullable=False),  # active paused disabled
    Column("state_reason", Text),
    Column("acked_seq", BigInteger, nullable=False, default=0),  # the committed feed cursor (ack)
    Column("delivered_seq", BigInteger, nullable=False, default=0),  # webhook: last change sent or dead
    Column("projected_seq", BigInteger, nullable=False, default=0),  # feed_events hold every change <= it
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("failures", Integer, nullable=False, default=0),  # consecutive failed attempts
    Column("last_success_at", DateTime(timezone=True)),
    Column("last_failure_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The consumer's events, projected ahead of reading (a cache: an event is a pure function of its change
# and the profile, so any range can be projected again). Changes the profile drops have no row.
feed_events = Table(
    "feed_events",
    metadata,
    Column("consumer", String(64), ForeignKey("consumers.name"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("body", Text, nullable=False),  # the event as JSON, exactly as the feed serves it
)

# One row per webhook request body: a batch of events with one webhook-id, sent again unchanged on
# every retry (duplicates only ever arrive under the same webhook-id).
webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("id", String(40), primary_key=True),  # msg_…: the webhook-id header
    Column("consumer", String(64), ForeignKey("consumers.name"), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("events", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),  # pending delivered dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Index(None, "consumer", "state", "first_seq"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("message_id", String(40), ForeignKey("webhook_messages.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status", Integer),  # the HTTP status, NULL when no answer (connection refused, timeout)
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Index(None, "message_id"),
)

# The 行政执法公示 portal's own table, kept by the hub's internal `publicity` consumer from the
# change log: only what may be public, already masked. One row per record; withdrawn ones removed.
publicity_entries = Table(
    "publicity_entries",
    metadata,
    Column("record_id", ID, primary_key=True, autoincrement=False),
    Column("dataset", String(32), nullable=False),
    Column("decision_number", String(128), nullable=False),
    Column("counterparty_name", String(200), nullable=False),
    Column("counterparty_code", String(64)),  # searchable code: organisations only, never a person's ID
    Column("agency_name", String(200)),
    Column("agency_uscc", String(18)),
    Column("region", String(6)),
    Column("city", String(6)),
    Column("decision_date", Date),
    Column("public_from", Date, nullable=False),
    Column("public_until", Date, nullable=False),
    Column("document", Text, nullable=False),  # the masked public view as JSON
    Column("seq", BigInteger, nullable=False),  # the change that wrote it
    Index(None, "counterparty_name"),
    Index(None, "decision_number"),
    Index(None, "counterparty_code"),
    Index(None, "city", "decision_date"),
)

# --- supervision (执法监督): facts and monthly rollups kept from the change log, and alerts ------------
# Written only by supervise/ through store/supervision.py: the hub's internal consumer `supervision`
# keeps the facts (one row per action record, its current version) and the rollups in the same write
# transaction as its cursor; `alerts` is reconciled by supervise.alerts.evaluate_alerts.

supervision_facts = Table(
    "supervision_facts",
    metadata,
    Column("record_id", ID, primary_key=True, autoincrement=False),
    Column("dataset", String(32), nullable=False),
    Column("business_key", String(400), nullable=False),
    Column("version_no", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),  # the change that wrote the row
    Column("agency_uscc", String(18)),
    Column("agency_name", String(200)),
    Column("region", String(6)),
    Column("city", String(6)),  # region[:4] + "00"; provincial departments 440000
    Column("act_date", Date),  # decision date, or the inspection's day
    Column("act_month", String(7)),  # YYYY-MM of act_date
    Column("decision_date", Date),
    Column("filing_date", Date),
    Column("first_received_at", DateTime(timezone=True), nullable=False),  # version 1 reached this hub
    Column("report_lag_wd", Integer),  # working days from act_date to first receipt (Asia/Shanghai)
    Column("reported_late", Boolean),  # report_lag_wd beyond the dataset's reporting deadline
    Column("status", String(16)),
    Column("effective", Boolean, nullable=False),  # not 撤销 / 确认违法 / 确认无效
    Column("counterparty_category", String(16)),
    Column("counterparty_code", String(64)),  # organisations' and 个体工商户' USCC; never a person's ID
    Column("matter_code", String(64)),
    Column("violation_type", Text),
    Column("procedure_type", String(8)),
    Column("penalty_kinds", String(64)),  # codes joined with ';'
    Column("fine_cents", BigInteger),  # 罚款 in fen (1/100 元): exact sums
    Column("statutory_max_cents", BigInteger),  # highest fine the cited articles allow, when they say
    Column("officer_count", Integer),  # distinct 执法证号
    Column("officer_certs", Text),  # the distinct 执法证号, sorted, joined with ';'
    Column("major_decision", Boolean),
    Column("hearing_date", Date),
    Column("legal_review_date", Date),
    Column("coercion_type", String(8)),
    Column("measure", String(8)),
    Column("measure_start_date", Date),
    Column("measure_end_date", Date),
    Column("extended", Boolean),
    Column("release_date", Date),
    Column("closing_date", Date),
    Column("published_date", Date),
    Column("publish", Boolean),
    Column("minor_involved", Boolean),
    Column("publicity_status", String(4)),
    Index(None, "dataset", "city", "act_month"),
    Index(None, "agency_uscc", "act_month"),
    Index(None, "counterparty_code"),
)

# dataset × month × city × agency → counts and sums, kept with the facts by deltas ('' = unknown).
supervision_rollups = Table(
    "supervision_rollups",
    metadata,
    Column("dataset", String(32), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("city", String(6), primary_key=True),
    Column("agency_uscc", String(18), primary_key=True),
    Column("records", BigInteger, nullable=False),
    Column("effective", BigInteger, nullable=False),
    Column("reported_on_time", BigInteger, nullable=False),
    Column("reported_late", BigInteger, nullable=False),
    Column("fined", BigInteger, nullable=False),  # effective records with a fine
    Column("fines_cents", BigInteger, nullable=False),  # their fines, in fen
    Column("major_decisions", BigInteger, nullable=False),  # effective 重大执法决定
)

# The dashboard's grains, kept by the same deltas in the same transaction (docs/supervision.md,
# "Rollups"): the measures above plus the timeliness counters that do not depend on the day asked.
TIMELINESS_MEASURES = (
    "to_publish",  # effective penalties to be public (publicity applies)
    "published_late",  # … published after their 7th working day
    "unpublished",  # … not published (late or not depends on the day asked: supervision_timeliness)
    "ordinary",  # effective 普通程序 penalties with filing and decision dates
    "decided_late",  # … decided more than 90 days after filing
    "seizures",  # effective 查封/扣押 with a start date
    "seizures_closed_late",  # … released (or closed) beyond 30 (60) days
    "still_held",  # … neither released nor closed (overdue depends on the day asked)
    "revoked",  # penalties 撤销/确认违法/确认无效
    "not_withdrawn",  # … whose reported publicity is not withdrawn
)


def _measures(*names: str) -> list[Column[int]]:
    return [Column(n, BigInteger, nullable=False, default=0) for n in names]


# dataset × month × city → counts and sums (overview, timeliness by city).
supervision_city_rollups = Table(
    "supervision_city_rollups",
    metadata,
    Column("dataset", String(32), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("city", String(6), primary_key=True),
    *_measures(
        "records",
        "effective",
        "reported_on_time",
        "reported_late",
        "fined",
        "fines_cents",
        "major_decisions",
        *TIMELINESS_MEASURES,
    ),
)

# month × city × agency, the action datasets summed (with a count per dataset) → the agency tables of
# overview, quality (coverage), timeliness and assessment.
supervision_agency_rollups = Table(
    "supervision_agency_rollups",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("city", String(6), primary_key=True),
    Column("agency_uscc", String(18), primary_key=True),
    *_measures(
        "records",
        "n_penalty",
        "n_license",
        "n_coercion",
        "n_inspection",
        "n_levy",
        "n_requisition",
        "effective",
        "reported_on_time",
        "reported_late",
        "fined",
        "fines_cents",
        "major_decisions",
        *TIMELINESS_MEASURES,
    ),
)

# One row per record and timeliness finding (kind: report publicity unpublished decision seizure held
# withdrawal): the timeliness page's record lists (each kind's in `rank`, record_id order through the
# first index: no sort) and the open cases whose lateness depends on the day asked (`due`: late when
# due < it).
supervision_timeliness = Table(
    "supervision_timeliness",
    metadata,
    Column("record_id", ID, primary_key=True, autoincrement=False),
    Column("kind", String(16), primary_key=True),
    Column("dataset", String(32), nullable=False),
    Column("act_month", String(7)),
    Column("city", String(6)),
    Column("region", String(6)),
    Column("agency_uscc", String(18)),
    Column("rank", BigInteger, nullable=False),  # the list's order: −lag, −days, or the day (see derived)
    Column("due", Date),  # unpublished: the publicity deadline; held: start + 30 (60) days
    # a list's first rows, in order, read from the index alone (the period, scope and due day in it)
    Index("ix_supervision_timeliness_list", "kind", "rank", "record_id", "act_month", "region", "due"),
    Index(None, "kind", "due"),  # open cases not yet due on a day
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),  # stable: the same finding, the same key
    Column("rule", String(64), nullable=False),
    Column("dataset", String(32), nullable=False),
    Column("severity", String(8), nullable=False),  # high medium low
    Column("record_id", ID),  # the record of a one-record alert (NULL for group alerts)
    Column("record_ids", Text, nullable=False),  # JSON list of record ids
    Column("record_keys", Text, nullable=False),  # JSON list of their business keys
    Column("record_count", Integer, nullable=False),
    Column("agency_uscc", String(18)),
    Column("region", String(6)),  # the records' division; their city, or 440000, when they differ
    Column("city", String(6)),  # 440000 for alerts spanning cities
    Column("act_date", Date),  # the earliest act date of its records
    Column("detail", Text, nullable=False),  # JSON: what the rule saw
    Column("fingerprint", String(32), nullable=False),  # hash of records + detail: changed or not
    Column("status", String(8), nullable=False),  # open closed
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("closed_by", String(200)),  # a person, or `system` when no longer detected
    Column("closed_at", DateTime(timezone=True)),
    Column("note", Text),
    Index(None, "rule", "status"),
    Index(None, "city", "status"),
    Index(None, "agency_uscc", "status"),
    Index(None, "record_id"),
)

# --- federation (省、市两级): the links of this hub to its upstream and from its cities -------------
# One row per link. On a city hub: `uplink` (the relay of its own changes to the province; its cursor
# is the `relay` consumer's acked_seq) and `downlink` (the province's registries read into this hub;
# `position` is the province's change seq read up to). On the province: `city:<hub id>` per city hub
# that relays, kept in the same transaction as each relayed batch.
federation_links = Table(
    "federation_links",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("direction", String(16), nullable=False),  # uplink downlink inbound
    Column("peer", String(200), nullable=False),  # the peer hub's URL or id
    Column("position", BigInteger, nullable=False, default=0),
    Column("peer_seq", BigInteger),  # the peer's last change seq as last seen
    Column("versions", BigInteger, nullable=False, default=0),  # versions moved over the link
    Column("rejected", BigInteger, nullable=False, default=0),  # rows the receiving hub refused
    Column("batches", BigInteger, nullable=False, default=0),
    Column("last_lag_ms", BigInteger),  # the last batch: origin commit to receiving commit
    Column("last_success_at", DateTime(timezone=True)),
    Column("last_failure_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("failures", Integer, nullable=False, default=0),  # consecutive
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
