"""Operational tables: the run log and the ingest quarantine."""

from custseg.tables.spec import TableSpec, columns

JOB_RUNS = TableSpec(
    name="job_runs", layer="ops", mode="append",
    description="One row per job run: status, timing, rows and table versions read and written.",
    primary_key=("run_id",),
    columns=columns(
        ("run_id", "string", "Unique id of the run", False),
        ("parent_run_id", "string", "The run_all run this job ran under, if any"),
        ("job", "string", "Job name", False),
        ("status", "string", "succeeded or failed", False),
        ("started_at", "timestamp", "Start time (UTC)", False),
        ("ended_at", "timestamp", "End time (UTC)", False),
        ("duration_seconds", "double", "Wall time", False),
        ("rows_in", "map<string,bigint>", "Rows read per input table or source"),
        ("rows_out", "map<string,bigint>", "Rows written per output table"),
        ("input_versions", "map<string,bigint>",
         "Version of each input table read; a further version read of a table as table@version"),
        ("output_versions", "map<string,bigint>", "Version of each output table written"),
        ("metrics", "map<string,string>", "Job-specific figures (k chosen, reject rates...)"),
        ("config_hash", "string", "Hash of the effective configuration", False),
        ("config_env", "string", "Configuration overlay used"),
        ("package_version", "string", "custseg version", False),
        ("spark_version", "string", "Spark version"),
        ("spark_master", "string", "Spark master URL"),
        ("delta_engine", "string", "native or deltars"),
        ("error", "string", "Error message of a failed run"),
    ),
)

REJECTS = TableSpec(
    name="rejects", layer="ops", mode="append",
    description="Quarantine: every raw row that ingest could not accept, with where it came from and why.",
    partition_by=("source",),
    columns=columns(
        ("run_id", "string", "Ingest run that rejected the row", False),
        ("source", "string", "Source name from conf/sources.yaml", False),
        ("source_file", "string", "File holding the row", False),
        ("source_line", "long", "1-based line (or row) number in the file", False),
        ("raw_record", "string", "The row as read (the file path for an unreadable file)"),
        ("reason", "string", "Why it was rejected", False),
        ("rejected_at", "timestamp", "Time of the ingest run (UTC)", False),
    ),
)

INGEST_ACCOUNTING = TableSpec(
    name="ingest_accounting", layer="ops", mode="append",
    description="Row accounting per source and ingest run: read = accepted + rejected.",
    columns=columns(
        ("run_id", "string", "Ingest run", False),
        ("source", "string", "Source name", False),
        ("files", "int", "Files matched by the source's glob", False),
        ("rows_read", "bigint", "Records read", False),
        ("rows_accepted", "bigint", "Records written to the bronze table", False),
        ("rows_rejected", "bigint", "Records sent to rejects", False),
        ("reject_rate", "double", "rows_rejected / rows_read", False),
        ("max_reject_rate", "double", "Configured limit", False),
        ("within_limit", "boolean", "reject_rate <= max_reject_rate", False),
        ("rows_erased", "bigint", "Records read but dropped because their person was erased (erasure_log)"),
    ),
)

VALIDATION_RESULTS = TableSpec(
    name="validation_results", layer="ops", mode="append",
    description="Every validation rule and drift check run on every table a job wrote, and its outcome.",
    columns=columns(
        ("run_id", "string", "Run that wrote the table", False),
        ("job", "string", "Job name", False),
        ("table_name", "string", "Table checked", False),
        ("check_name", "string", "Rule, e.g. unique(order_id) or drift_rows", False),
        ("check_type", "string", "not_null, unique, range, regex, allowed, references, drift_*", False),
        ("column_name", "string", "Column(s) checked"),
        ("severity", "string", "error or warn", False),
        ("rows_checked", "bigint", "Rows in the table as written", False),
        ("violations", "bigint", "Rows breaking the rule (drift: 1 when out of bounds)", False),
        ("share", "double", "violations / rows_checked (drift: the measured change)", False),
        ("max_share", "double", "Allowed share (drift: the configured bound)", False),
        ("passed", "boolean", "share <= max_share", False),
        ("message", "string", "Readable outcome", False),
    ),
)

RESOLUTION_IDENTITIES = TableSpec(
    name="resolution_identities", layer="ops",
    description="State of identity resolution: each record's matching values, a hash of them and a hash of its "
                "raw input row, so an incremental run can tell new, changed and deleted records apart and "
                "standardize only those.",
    primary_key=("node",),
    columns=columns(
        ("node", "bigint", "Record node: xxhash64(source, record_id)", False),
        ("source", "string", "Source", False),
        ("record_id", "string", "Record id", False),
        ("first_name", "string", "Matching form"), ("last_name", "string", "Matching form"),
        ("birth_date", "date", "Matching form"), ("email", "string", "Matching form"),
        ("phone", "string", "Matching form"), ("national_id", "string", "Matching form"),
        ("street", "string", "Matching form"), ("postcode", "string", "Matching form"),
        ("city", "string", "Matching form"), ("country", "string", "Matching form"),
        ("content_hash", "bigint", "Hash of the matching values", False),
        ("raw_hash", "bigint",
         "Hash of the mapped input columns as read and of the settings that standardize them: "
         "an incremental run reuses the matching values of records whose raw hash is unchanged", False),
    ),
)

RESOLUTION_BLOCK_KEYS = TableSpec(
    name="resolution_block_keys", layer="ops", partition_by=("rule",),
    description="State of identity resolution: every record's blocking keys per rule, reused by incremental runs.",
    columns=columns(
        ("rule", "string", "Blocking rule", False),
        ("block", "bigint", "64-bit id of the block (xxhash64 of the rule and the key's text)", False),
        ("node", "bigint", "Record node", False),
        ("source", "string", "Record source", False),
    ),
)

DATA_AUDIT = TableSpec(
    name="data_audit", layer="ops", mode="append",
    description="Profile of every audited table and column: nulls, distinct counts, ranges, top values, outliers, "
                "duplicate keys and rule violations. Column '*' holds the table-level figures.",
    columns=columns(
        ("run_id", "string", "audit run", False),
        ("table_name", "string", "Audited table", False),
        ("table_version", "bigint", "Version of the table audited", False),
        ("column_name", "string", "Column, or '*' for the whole table", False),
        ("data_type", "string", "Spark type", False),
        ("rows", "bigint", "Rows in the table", False),
        ("nulls", "bigint", "Null values"),
        ("null_share", "double", "nulls / rows"),
        ("approx_distinct", "bigint", "Approximate distinct values (HyperLogLog, about 2% error)"),
        ("min_value", "string", "Smallest value, as text"),
        ("max_value", "string", "Largest value, as text"),
        ("mean", "double", "Mean (numeric columns)"),
        ("stddev", "double", "Sample standard deviation (numeric columns)"),
        ("q1", "double", "First quartile (approximate)"),
        ("median", "double", "Median (approximate)"),
        ("q3", "double", "Third quartile (approximate)"),
        ("iqr_outliers", "bigint", "Values below Q1 - f*IQR or above Q3 + f*IQR"),
        ("z_outliers", "bigint", "Values more than z standard deviations from the mean"),
        ("top_values", "array<struct<value:string,count:bigint>>", "Most frequent values (low-cardinality columns)"),
        ("histogram", "array<struct<lower:double,upper:double,count:bigint>>",
         "Equal-width histogram (numeric columns)"),
        ("duplicate_key_rows", "bigint", "Table level: rows whose primary key appears more than once"),
        ("rule_violations", "bigint", "Rows breaking the column's (or, at '*', all) validation rules"),
    ),
)

TABLES = (
    JOB_RUNS,
    REJECTS,
    INGEST_ACCOUNTING,
    VALIDATION_RESULTS,
    RESOLUTION_IDENTITIES,
    RESOLUTION_BLOCK_KEYS,
    DATA_AUDIT,
)
