"""Governance tables: the erasure log, consent, and the pseudonymized segment export."""

from custseg.tables.spec import TableSpec, columns

ERASURE_LOG = TableSpec(
    name="erasure_log", layer="ops", mode="append",
    description="Every erasure request and the keyed hashes of the identifiers it erased (never the values): "
                "ingest drops raw rows carrying one of them, so an erased person does not come back.",
    columns=columns(
        ("request_id", "string", "Erase run that carried out the request", False),
        ("requested_at", "timestamp", "When it was carried out (UTC)", False),
        ("subject_kind", "string", "email, customer or record: how the subject was named", False),
        ("subject_hash", "string", "HMAC-SHA256 of the subject as given", False),
        ("key_kind", "string", "Kind of identifier erased: record, record_id, customer, email or order", False),
        ("key_hash", "string", "HMAC-SHA256 of kind:value of the identifier", False),
        ("rows_erased", "map<string,bigint>", "Rows removed per table by the request", False),
    ),
)

CONSENT = TableSpec(
    name="consent", layer="gold",
    description="Consent events per customer and channel: opt_in or opt_out, when and from where. The latest event "
                "per customer and channel is the customer's state, except that a source opt-in never overrides a "
                "recorded opt-out; source rows are rebuilt, recorded ones kept.",
    primary_key=("customer_id", "channel", "recorded_at", "origin"),
    columns=columns(
        ("customer_id", "string", "Resolved customer", False),
        ("channel", "string", "Contact channel (privacy.consent_channels)", False),
        ("status", "string", "opt_in or opt_out", False),
        ("recorded_at", "timestamp", "When the consent was given or withdrawn (UTC)", False),
        ("origin", "string", "Where it came from: a source record (source:record_id) or 'recorded:<who>'", False),
        ("run_id", "string", "Run that wrote the row", False),
    ),
)

SEGMENT_EXPORT = TableSpec(
    name="segment_export", layer="gold",
    description="Segments for activation: only customers whose latest consent for privacy.export_channel is opt_in; "
                "every identifier a keyed hash (HMAC-SHA256), no raw PII.",
    primary_key=("customer_key",),
    columns=columns(
        ("customer_key", "string", "HMAC-SHA256 of the customer id", False),
        ("email_hash", "string", "HMAC-SHA256 of the lower-case email; null without one"),
        ("phone_hash", "string", "HMAC-SHA256 of the E.164 phone; null without one"),
        ("segment_id", "int", "ML segment id", False),
        ("segment_name", "string", "Segment name", False),
        ("parent_segment_id", "int", "Parent segment id", False),
        ("lifecycle_stage", "string", "Rule-based lifecycle stage", False),
        ("rfm_segment", "string", "Rule-based RFM segment", False),
        ("channel", "string", "Channel the consent covers", False),
        ("consent_at", "timestamp", "Time of the consent that admits the customer", False),
        ("as_of_date", "date", "Feature date of the segments", False),
        ("export_run_id", "string", "Run that wrote the export", False),
    ),
)

TABLES = (ERASURE_LOG, CONSENT, SEGMENT_EXPORT)
