"""Operational tables: the run log and the ingest quarantine."""

from custseg.catalog import TableSpec, columns, register

JOB_RUNS = register(TableSpec(
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
        ("input_versions", "map<string,bigint>", "Version of each input table read"),
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
))

REJECTS = register(TableSpec(
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
))

INGEST_ACCOUNTING = register(TableSpec(
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
    ),
))
