"""The configuration contract: every key, its type and its default.

``conf/base.yaml`` sets the shipped defaults, ``conf/env/<env>.yaml`` overlays them and
``--set a.b=c`` overrides win last. Cross-field rules live in ``__post_init__`` and raise
ValueError, which the loader reports with the section's key path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from custseg.memory.sizing import AUTO, is_jvm_size

DeltaEngine = Literal["auto", "native", "deltars"]


@dataclass(frozen=True)
class SparkSettings:
    master: str = "local[2]"
    app_name: str = "custseg"
    # `auto`: in local mode a share of physical memory (custseg.memory.sizing); else a JVM size.
    driver_memory: str = AUTO
    executor_memory: str = "2g"
    executor_cores: int = 1
    shuffle_partitions: int = 8
    max_partition_bytes: str = "64m"
    ui_enabled: bool = False
    # Any further Spark property, passed through unchanged (e.g. spark.sql.ansi.enabled).
    conf: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.shuffle_partitions < 1:
            raise ValueError(f"shuffle_partitions must be >= 1, got {self.shuffle_partitions}")
        if self.executor_cores < 1:
            raise ValueError(f"executor_cores must be >= 1, got {self.executor_cores}")
        if self.driver_memory.strip().lower() != AUTO and not is_jvm_size(self.driver_memory):
            raise ValueError(f"driver_memory must be auto or a JVM size such as 4g or 512m, got {self.driver_memory!r}")
        for key in ("executor_memory", "max_partition_bytes"):
            if not is_jvm_size(getattr(self, key)):
                raise ValueError(f"{key} must be a size such as 2g or 64m, got {getattr(self, key)!r}")


@dataclass(frozen=True)
class StorageSettings:
    # Relative paths are resolved against the project folder (the parent of conf/).
    root: str = "data"
    delta_engine: DeltaEngine = "auto"
    vacuum_retention_hours: int = 168

    def __post_init__(self) -> None:
        if self.delta_engine == "deltars" and is_remote(self.root):
            raise ValueError(deltars_needs_local_root(self.delta_engine, self.root))


def is_remote(root: str) -> bool:
    """Whether ``root`` names a store other than the local disk (s3a://, hdfs://, abfss://, gs://)."""
    return "://" in root and not root.startswith("file://")


def deltars_needs_local_root(engine: str, root: str) -> str:
    """The sentence refusing a remote ``root`` to the delta-rs engine, reached through ``engine``.

    The engine moves staged files and commits them with delta-rs on the local disk, and delta-rs
    would need the store's credentials of its own to reach anything else.
    """
    chosen = "auto (deltars, as delta-spark is not loaded)" if engine == "auto" else engine
    return (f"storage.delta_engine {chosen} keeps tables on the local disk only, not under storage.root {root}: "
            "use storage.delta_engine native with delta-spark's jars (spark-submit.sh --delta-packages), "
            "or a local storage.root")


@dataclass(frozen=True)
class GenerateSettings:
    seed: int = 20260101
    customers: int = 20000
    # Share of persons who own more than one CRM record (typos, nicknames, moves...).
    duplicate_person_rate: float = 0.3
    web_account_rate: float = 0.65
    end_date: dt.date = dt.date(2026, 6, 30)
    history_days: int = 730
    # Share of raw lines deliberately broken, to exercise the quarantine path.
    bad_row_rate: float = 0.001
    files_per_source: int = 4
    archetype_weights: dict[str, float] = field(default_factory=dict)
    # Also write raw/people_export/: the CRM records as one system's CSV export, without email
    # and phone, dates of birth as YYYYMMDD and a national id (to try resolve on a user's file).
    people_export: bool = False

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"customers must be >= 1, got {self.customers}")
        for name in ("duplicate_person_rate", "web_account_rate", "bad_row_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.history_days < 60:
            raise ValueError(f"history_days must be >= 60, got {self.history_days}")
        if any(w < 0 for w in self.archetype_weights.values()):
            raise ValueError("archetype_weights must be >= 0")


@dataclass(frozen=True)
class IngestSettings:
    sources_file: str = "conf/sources.yaml"
    # Default per-source limit; a source may set its own max_reject_rate.
    max_reject_rate: float = 0.02


@dataclass(frozen=True)
class CleanSettings:
    default_region: str = "US"
    reporting_currency: str = "USD"
    # Units of reporting currency per unit of each currency.
    currency_rates: dict[str, float] = field(default_factory=lambda: {"USD": 1.0})
    gender_values: dict[str, str] = field(default_factory=dict)
    country_values: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.reporting_currency not in self.currency_rates:
            raise ValueError(
                f"reporting_currency {self.reporting_currency!r} has no entry in currency_rates"
            )
        if any(rate <= 0 for rate in self.currency_rates.values()):
            raise ValueError("currency_rates must all be > 0")


SURVIVORSHIP_RULES = ("most_recent", "most_frequent", "source_priority", "longest")
IDENTITY_ROLES = ("first_name", "last_name", "full_name", "birth_date", "email", "phone", "national_id",
                  "street", "postcode", "city", "country")
KEY_PARTS = ("value", "soundex", "prefix1", "prefix3", "year", "mailbox")
# Roles whose comparison level follows from the two values alone (no similarity, no other field).
VALUE_LEVEL_ROLES = ("birth_date", "email", "phone", "national_id", "postcode", "city")


@dataclass(frozen=True)
class RoleColumn:
    """A mapped column with how to read it: ``birth_date: {column: dob, format: dd.MM.yyyy}``."""

    column: str
    # Spark datetime pattern of a date role; unset: ISO 8601 (basic or extended) and the
    # usual national forms, in the record's country's day/month order.
    format: str | None = None


DATE_ROLES = ("birth_date",)


@dataclass(frozen=True)
class ResolveInput:
    """What to resolve: a table of the catalog, or a file of the user's own. A layer of the
    configuration that sets it replaces it whole: a `path` given over the shipped `table`
    does not merge with it."""

    table: str | None = None
    path: str | None = None
    format: Literal["csv", "json", "parquet"] = "csv"
    options: dict[str, str] = field(default_factory=lambda: {"header": "true"})

    def __post_init__(self) -> None:
        if (self.table is None) == (self.path is None):
            raise ValueError("give exactly one of `table` or `path`")


@dataclass(frozen=True)
class BlockingRule:
    """One way to find candidate pairs; the rules are OR-ed, each pair keeps the first rule that found it."""

    name: str
    type: Literal["exact", "minhash", "key"]
    fields: list[str] = field(default_factory=list)   # roles: exact and minhash
    # key: "<transform>:<role>", transform in KEY_PARTS; one part may name alternatives,
    # "soundex:first_name|last_name", giving a key per alternative (finds swapped fields).
    parts: list[str] = field(default_factory=list)
    shingle_size: int = 3
    bands: int = 20        # minhash: bands OR-ed ...
    rows: int = 4          # ... each the AND of this many hashes
    max_block_size: int | None = None   # this rule's block cap (default: resolve.max_bucket_size)
    window: int | None = None           # this rule's block window (default: resolve.block_window)
    # Pair two records only when at least one of them has none of these roles: a rule on
    # names alone then meets a sparse record (a web account with a name and an email) and
    # its full twin, not every two namesakes whose birth dates already tell them apart.
    only_if_one_lacks: list[str] = field(default_factory=list)
    # Skip a pair whose two values of these roles are both present and differ beyond a typo
    # (the comparison's 'different' level): namesakes born decades apart are not worth scoring.
    skip_if_different: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.type in ("exact", "minhash") and not self.fields:
            raise ValueError(f"blocking rule {self.name}: needs `fields`")
        if self.type == "key":
            if not self.parts:
                raise ValueError(f"blocking rule {self.name}: needs `parts`")
            for part in self.parts:
                transform, _, roles = part.partition(":")
                if transform not in KEY_PARTS or not all(role in IDENTITY_ROLES for role in roles.split("|")):
                    raise ValueError(f"blocking rule {self.name}: part {part!r} is not "
                                     f"<{'|'.join(KEY_PARTS)}>:<role>[|<role>...]")
            if sum("|" in part for part in self.parts) > 1:
                raise ValueError(f"blocking rule {self.name}: only one part may list alternative roles")
        for role in [*self.fields, *self.only_if_one_lacks]:
            if role not in IDENTITY_ROLES:
                raise ValueError(f"blocking rule {self.name}: unknown field {role!r}; "
                                 f"roles: {', '.join(IDENTITY_ROLES)}")
        if self.bands < 1 or self.rows < 1 or self.shingle_size < 1:
            raise ValueError(f"blocking rule {self.name}: bands, rows and shingle_size must be >= 1")
        if any(role not in VALUE_LEVEL_ROLES for role in self.skip_if_different):
            raise ValueError(f"blocking rule {self.name}: skip_if_different takes {', '.join(VALUE_LEVEL_ROLES)}, "
                             f"not {[r for r in self.skip_if_different if r not in VALUE_LEVEL_ROLES]}")
        if "full_name" in self.only_if_one_lacks:
            raise ValueError(f"blocking rule {self.name}: only_if_one_lacks names first_name or last_name, "
                             "not full_name")
        if self.window is not None and self.window < 2:
            raise ValueError(f"blocking rule {self.name}: window must be >= 2, got {self.window}")


def unmapped_roles(rule: BlockingRule, columns: Mapping[str, object]) -> list[str]:
    """The roles ``rule`` needs that ``columns`` does not map (a full name gives both names)."""
    used = set(rule.fields) | {role for p in rule.parts for role in p.partition(":")[2].split("|")}
    return sorted(used - set(columns) - ({"first_name", "last_name"} if "full_name" in columns else set()))


@dataclass(frozen=True)
class ResolveSettings:
    input: ResolveInput = field(default_factory=lambda: ResolveInput(table="customer_records"),
                                metadata={"replace": True})
    # dedupe: all records against each other; link: only pairs from different sources.
    mode: Literal["dedupe", "link"] = "dedupe"
    # Identity role -> column of the input (or {column, format}). `source` and `record_id` name
    # the record. A layer of the configuration that sets it replaces the whole mapping.
    columns: dict[str, str | RoleColumn] = field(default_factory=lambda: {"record_id": "record_id"},
                                                 metadata={"replace": True})
    default_region: str | None = None   # phone numbers without a country code; default: clean.default_region
    blocking: list[BlockingRule] = field(default_factory=list)
    max_bucket_size: int = 300          # larger blocks are skipped (and reported): one name cannot explode the job
    # Blocks up to this size pair all their records; larger ones pair each record with its next
    # block_window - 1 records in window_order (sorted neighbourhood). None: all pairs up to the cap.
    block_window: int | None = 8
    window_order: list[str] = field(default_factory=lambda: ["last_name", "first_name", "birth_date", "postcode"])
    pair_budget: int = 50_000_000       # stop before scoring when blocking would produce more pairs
    u_sample_pairs: int = 1_000_000     # random pairs for estimating u (at most 50 per record)
    em_max_iterations: int = 60
    # m is estimated by EM on pairs agreeing exactly on these comparisons, each session
    # estimating the other comparisons; rules naming unmapped fields are skipped.
    training_rules: list[list[str]] = field(default_factory=lambda: [
        ["email"], ["phone"], ["national_id"], ["first_name", "last_name", "birth_date"]])
    # Exact agreement on these is weighed by how common the value is (term-frequency adjustment).
    term_frequency: list[str] = field(default_factory=lambda: ["first_name", "last_name"])
    match_threshold: float = 0.9        # probability at which a pair is accepted automatically
    review_band: list[float] = field(default_factory=lambda: [0.5, 0.9])
    model: str = "train"                # train, or the path of a saved model to reuse
    decisions_file: str | None = None   # CSV of labelled pairs: source_l, record_id_l, source_r, record_id_r, decision
    evaluate: bool = True               # compare with truth_records when it exists
    incremental: bool = False           # match only new/changed records against the last run's state
    seed: int = 42
    max_iterations: int = 40            # connected-components rounds
    # Clusters of at most this many accepted pairs are labelled on the driver (one collect of
    # the pairs); more go through the distributed rounds. 0: always distributed.
    local_components_max_edges: int = 1_000_000
    default_rule: str = "most_recent"   # golden records
    survivorship: dict[str, str] = field(default_factory=dict)
    source_priority: list[str] = field(default_factory=lambda: ["crm_customers", "web_accounts"])
    # Mapped columns whose values mostly fail to standardize (dates that do not parse, phones
    # that are not numbers): above this share of a column's non-empty values the job stops,
    # naming the column, the share and examples (`unparsed_severity: warn` only records it).
    max_unparsed_share: float = 0.5
    unparsed_severity: Literal["error", "warn"] = "error"
    # Shipped blocking rules left out because a role they need is not mapped: rule -> reason.
    # Set by the configuration loader, never by a user (a user's own rule must fit the mapping).
    omitted_blocking: dict[str, str] = field(default_factory=dict, metadata={"derived": True})

    @property
    def column_names(self) -> dict[str, str]:
        """Role -> input column name."""
        return {role: c.column if isinstance(c, RoleColumn) else c for role, c in self.columns.items()}

    @property
    def column_formats(self) -> dict[str, str]:
        """Role -> the datetime pattern given for it."""
        return {role: c.format for role, c in self.columns.items() if isinstance(c, RoleColumn) and c.format}

    def __post_init__(self) -> None:
        formatted = sorted(set(self.column_formats) - set(DATE_ROLES))
        if formatted:
            raise ValueError(f"columns: a format applies to {', '.join(DATE_ROLES)} only, not {formatted}")
        if not 0.0 < self.max_unparsed_share <= 1.0:
            raise ValueError(f"max_unparsed_share must be in (0, 1], got {self.max_unparsed_share}")
        unknown = sorted(set(self.columns) - {"source", "record_id", *IDENTITY_ROLES})
        if unknown:
            raise ValueError(f"columns: unknown role(s) {unknown}; "
                             f"roles: source, record_id, {', '.join(IDENTITY_ROLES)}")
        if "record_id" not in self.columns:
            raise ValueError("columns: map `record_id` to the column that identifies a record")
        if not set(self.columns) & set(IDENTITY_ROLES):
            raise ValueError("columns: no identity field is mapped (map names, birth date, email, phone, address...)")
        if not 0.0 < self.match_threshold < 1.0:
            raise ValueError(f"match_threshold must be between 0 and 1, got {self.match_threshold}")
        if len(self.review_band) != 2 or not 0.0 <= self.review_band[0] <= self.review_band[1] <= self.match_threshold:
            raise ValueError("review_band must be [low, high] with 0 <= low <= high <= match_threshold")
        if not self.blocking:
            raise ValueError("blocking: give at least one rule")
        names = [r.name for r in self.blocking]
        if len(set(names)) != len(names):
            raise ValueError("blocking: rule names must be unique")
        for rule in self.blocking:
            unmapped = unmapped_roles(rule, self.columns)
            if unmapped:
                raise ValueError(f"blocking rule {rule.name}: field(s) {unmapped} are not mapped in `columns`")
        if self.local_components_max_edges < 0:
            raise ValueError(f"local_components_max_edges must be >= 0, got {self.local_components_max_edges}")
        if self.max_bucket_size < 2 or self.pair_budget < 1 or self.u_sample_pairs < 1000:
            raise ValueError("max_bucket_size must be >= 2, pair_budget >= 1 and u_sample_pairs >= 1000")
        if self.block_window is not None and self.block_window < 2:
            raise ValueError(f"block_window must be >= 2 (or null), got {self.block_window}")
        unknown_order = [role for role in self.window_order if role not in IDENTITY_ROLES or role == "full_name"]
        if unknown_order or not self.window_order:
            orderable = ", ".join(r for r in IDENTITY_ROLES if r != "full_name")
            raise ValueError(f"window_order: give identity roles ({orderable}); unknown: {unknown_order}")
        for name, survivorship in {"default_rule": self.default_rule, **self.survivorship}.items():
            if survivorship not in SURVIVORSHIP_RULES:
                raise ValueError(f"survivorship rule {survivorship!r} for {name} is not one of {SURVIVORSHIP_RULES}")


IMPUTATION_POLICIES = ("median", "mean", "mode", "zero", "knn", "none")


def _is_constant_policy(policy: str) -> bool:
    prefix, _, value = policy.partition(":")
    try:
        float(value)
    except ValueError:
        return False
    return prefix == "constant"


@dataclass(frozen=True)
class FeatureSettings:
    # Features use no information from after this date; null means the day after the
    # latest order or event in the data.
    as_of: dt.date | None = None
    new_customer_days: int = 90
    loyal_min_orders: int = 8
    lapsed_after_days: int = 180
    churned_after_days: int = 365
    # Missing values: column -> median | mean | mode | zero | knn | none | constant:<number>
    imputation: dict[str, str] = field(default_factory=dict)
    knn_neighbors: int = 5
    knn_predictors: list[str] = field(default_factory=list)
    # Outlier capping: column -> [lower quantile, upper quantile]; a flag records capped rows.
    winsorize: dict[str, list[float]] = field(default_factory=dict)
    outlier_model: Literal["isolation_forest", "none"] = "none"
    outlier_features: list[str] = field(default_factory=list)
    outlier_contamination: float = 0.01
    # Models (kNN imputation, isolation forest) are fitted on at most this many rows.
    model_sample_size: int = 20000
    seed: int = 17

    def __post_init__(self) -> None:
        for column, policy in self.imputation.items():
            if policy not in IMPUTATION_POLICIES and not _is_constant_policy(policy):
                raise ValueError(f"imputation policy {policy!r} for {column} is not one of "
                                 f"{', '.join(IMPUTATION_POLICIES)} or constant:<number>")
        if "knn" in self.imputation.values() and not self.knn_predictors:
            raise ValueError("knn imputation needs knn_predictors")
        for column, bounds in self.winsorize.items():
            if len(bounds) != 2 or not 0.0 <= bounds[0] < bounds[1] <= 1.0:
                raise ValueError(f"winsorize bounds for {column} must be [low, high] with 0 <= low < high <= 1")
        if self.outlier_model != "none" and not self.outlier_features:
            raise ValueError("outlier_model needs outlier_features")
        if not 0.0 < self.outlier_contamination < 0.5:
            raise ValueError("outlier_contamination must be in (0, 0.5)")
        if not 0 < self.lapsed_after_days < self.churned_after_days:
            raise ValueError("need 0 < lapsed_after_days < churned_after_days")
        if self.loyal_min_orders < 2 or self.new_customer_days < 1:
            raise ValueError("loyal_min_orders must be >= 2 and new_customer_days >= 1")


@dataclass(frozen=True)
class SegmentSettings:
    algorithm: Literal["bisecting_kmeans", "kmeans"] = "bisecting_kmeans"
    k_min: int = 3
    k_max: int = 10
    min_segment_share: float = 0.02
    scaler: Literal["standard", "minmax", "robust"] = "standard"
    seed: int = 42
    max_iterations: int = 40
    # The k search, its validation and the parent level run on the driver, on a uniform sample of
    # at most this many customers; with more customers, the chosen k is fitted on all of them in Spark.
    sample_size: int = 100_000
    # Fits from different starts for each k (as scikit-learn's n_init); the one that costs least is kept.
    restarts: int = 4
    features: list[str] = field(default_factory=list)
    # Skewed amounts and counts enter the model as log(1 + x).
    log_features: list[str] = field(default_factory=list)
    # String columns: one-hot encoded, or (high cardinality) replaced by their frequency.
    categorical_features: list[str] = field(default_factory=list)
    frequency_features: list[str] = field(default_factory=list)
    # PCA keeps the fewest components retaining this share of the variance; null: no PCA.
    pca_variance_share: float | None = 0.9
    # Validation of the chosen k: re-fits on bootstrap resamples, and a held-out share.
    bootstrap_samples: int = 5
    holdout_share: float = 0.2
    # Parent level: segments merged bottom-up (Ward); null: the count with the best silhouette.
    parent_segments: int | None = None
    # A new segment keeps a previous segment's id when their centres are this close (root mean
    # square distance in standard deviations of the model features).
    match_max_distance: float = 0.5
    # assign: the segment run whose saved model scores customers; null: the latest.
    model_run: str | None = None

    def __post_init__(self) -> None:
        if not self.features:
            raise ValueError("features must name at least one customer_features column")
        stray = sorted(set(self.log_features) - set(self.features))
        if stray:
            raise ValueError(f"log_features {stray} are not in features")
        twice = sorted(set(self.features) & (set(self.categorical_features) | set(self.frequency_features))
                       | set(self.categorical_features) & set(self.frequency_features))
        if twice:
            raise ValueError(f"{twice} appear in more than one of features, categorical_features, frequency_features")
        if self.pca_variance_share is not None and not 0.0 < self.pca_variance_share <= 1.0:
            raise ValueError(f"pca_variance_share must be in (0, 1] or null, got {self.pca_variance_share}")
        if self.restarts < 1:
            raise ValueError(f"restarts must be >= 1, got {self.restarts}")
        if self.sample_size < 100:
            raise ValueError(f"sample_size must be >= 100, got {self.sample_size}")
        if self.bootstrap_samples < 0:
            raise ValueError(f"bootstrap_samples must be >= 0, got {self.bootstrap_samples}")
        if not 0.0 < self.holdout_share < 0.5:
            raise ValueError(f"holdout_share must be in (0, 0.5), got {self.holdout_share}")
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError(f"need 2 <= k_min <= k_max, got k_min={self.k_min} k_max={self.k_max}")
        if not 0.0 <= self.min_segment_share < 0.5:
            raise ValueError(f"min_segment_share must be in [0, 0.5), got {self.min_segment_share}")
        if self.parent_segments is not None and self.parent_segments < 1:
            raise ValueError(f"parent_segments must be >= 1 or null, got {self.parent_segments}")
        if not self.match_max_distance > 0.0:
            raise ValueError(f"match_max_distance must be > 0, got {self.match_max_distance}")


STREAM_FEATURES = ("cart_value", "cart_items", "session_minutes", "recent_views")


@dataclass(frozen=True)
class KafkaSettings:
    servers: str = ""                   # kafka.bootstrap.servers
    topic: str = ""
    # Any further Kafka source option, e.g. {startingOffsets: earliest, "kafka.security.protocol": SSL}.
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RateSettings:
    """Spark's rate source, turned into synthetic cart events for load tests."""

    rows_per_second: int = 1000
    accounts: int = 10000


@dataclass(frozen=True)
class OnlineKMeansSettings:
    k: int = 2
    # Weight the centres keep from the past at each micro-batch (1.0: never forget, 0.0: only this batch).
    decay: float = 0.9
    seed: int = 7
    # A cluster whose centre has at least `high_risk_min` of `high_risk_feature` is "High-Risk Abandoner".
    high_risk_feature: str = "cart_value"
    high_risk_min: float = 100.0

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if not 0.0 <= self.decay <= 1.0:
            raise ValueError(f"decay must be between 0 and 1, got {self.decay}")
        if self.high_risk_feature not in STREAM_FEATURES:
            raise ValueError(f"high_risk_feature {self.high_risk_feature!r} is not one of {', '.join(STREAM_FEATURES)}")


ANY_CHURN_DECILE = 10  # a routing rule's max_churn_decile that takes every customer, scored or not


@dataclass(frozen=True)
class RoutingRule:
    """Decisions matching segment (real-time), reason, batch segment ('*': any) and churn decile
    (at most ``max_churn_decile``; 10: any, scored or not) go to channel."""

    segment: str = "*"
    reason: str = "abandoned_cart"
    batch_segment: str = "*"
    channel: Literal["email", "push", "none"] = "none"
    campaign: str = ""
    max_churn_decile: int = ANY_CHURN_DECILE  # N < 10: only churn deciles 1..N (1: likeliest churners); 10: any

    def __post_init__(self) -> None:
        if not 1 <= self.max_churn_decile <= ANY_CHURN_DECILE:
            raise ValueError(f"routing rule {self.campaign or self.segment!r}: max_churn_decile must be 1 to 10, "
                             f"got {self.max_churn_decile}")


@dataclass(frozen=True)
class WebhookSettings:
    url: str | None = None              # null: no webhook
    timeout_seconds: float = 5.0
    retries: int = 3
    backoff_seconds: float = 0.5

    def __post_init__(self) -> None:
        if self.retries < 0 or self.timeout_seconds <= 0 or self.backoff_seconds < 0:
            raise ValueError("webhook: retries and backoff_seconds must be >= 0, timeout_seconds > 0")


@dataclass(frozen=True)
class FeedSettings:
    """The live feed for the built-in data (`custseg replay`)."""

    carts: int = 200
    abandon_share: float = 0.4
    resume_share: float = 0.2           # paused shorter than the window, then checked out
    files: int = 20
    file_interval_seconds: float = 1.0  # wall time between two files
    start: str = "2026-07-01T09:00:00+00:00"  # event time of the first event (ISO 8601)
    seed: int = 11

    def __post_init__(self) -> None:
        if self.carts < 1 or self.files < 1 or self.file_interval_seconds < 0:
            raise ValueError("feed: carts and files must be >= 1, file_interval_seconds >= 0")
        shares = (self.abandon_share, self.resume_share)
        if min(shares) < 0.0 or sum(shares) > 1.0:
            raise ValueError("feed: abandon_share and resume_share must be >= 0 and add up to at most 1")
        try:
            dt.datetime.fromisoformat(self.start)
        except ValueError:
            raise ValueError(f"feed: start {self.start!r} is not an ISO 8601 time") from None


@dataclass(frozen=True)
class StreamSettings:
    source: Literal["files", "kafka", "rate"] = "files"
    # Relative to storage.root unless absolute.
    landing_dir: str = "stream/landing"
    checkpoint_dir: str = "checkpoints/stream"
    max_files_per_trigger: int = 1
    trigger_seconds: float = 1.0
    # Shuffle partitions while the stream runs, the cart state's among them; null: the
    # cores Spark has when it starts (set it on a cluster, where executors may still be joining).
    # The state keeps the number its checkpoint started with.
    state_partitions: int | None = None
    # Accounts share a state key by hash bucket: Spark's per-key state calls are paid per bucket.
    # A checkpoint keeps the number it started with.
    state_buckets: int = 64
    # Stop after this many seconds, or once no input arrived for this many; null: run until stopped.
    run_seconds: float | None = None
    stop_when_idle_seconds: float | None = None
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    rate: RateSettings = field(default_factory=RateSettings)
    # A cart idle this long in event time, without checkout, is abandoned.
    window_minutes: float = 15.0
    # Events older than the latest event time seen minus this delay are late (watermark).
    watermark_seconds: float = 60.0
    # A customer's state is dropped this long (event time) after their last event.
    idle_expiry_minutes: float = 120.0
    recent_views: int = 5
    kmeans: OnlineKMeansSettings = field(default_factory=OnlineKMeansSettings)
    routing: list[RoutingRule] = field(default_factory=lambda: [
        RoutingRule("High-Risk Abandoner", "abandoned_cart", "*", "email", "cart-rescue-high"),
        RoutingRule("Low-Risk", "abandoned_cart", "*", "push", "cart-reminder"),
    ])
    frequency_cap: int = 1              # activations per customer ...
    frequency_cap_hours: float = 24.0   # ... within this many hours
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    feed: FeedSettings = field(default_factory=FeedSettings)

    def __post_init__(self) -> None:
        if self.window_minutes <= 0 or self.watermark_seconds < 0 or self.trigger_seconds <= 0:
            raise ValueError("window_minutes and trigger_seconds must be > 0, watermark_seconds >= 0")
        if self.idle_expiry_minutes < self.window_minutes:
            raise ValueError("idle_expiry_minutes must be >= window_minutes")
        if self.state_partitions is not None and self.state_partitions < 1:
            raise ValueError(f"state_partitions must be >= 1 or null, got {self.state_partitions}")
        if self.state_buckets < 1:
            raise ValueError(f"state_buckets must be >= 1, got {self.state_buckets}")
        if self.max_files_per_trigger < 1 or self.recent_views < 0 or self.frequency_cap < 0:
            raise ValueError("max_files_per_trigger must be >= 1, recent_views and frequency_cap >= 0")
        if self.source == "kafka" and not (self.kafka.servers and self.kafka.topic):
            raise ValueError("source kafka needs kafka.servers and kafka.topic")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    # Spark SQL type: string, int, long, double, boolean, date, timestamp, decimal(p,s)...
    type: str = "string"
    required: bool = False
    # Parse pattern for date/timestamp columns (Spark datetime pattern); ISO 8601 if unset.
    format: str | None = None
    description: str = ""


@dataclass(frozen=True)
class SourceSpec:
    format: Literal["csv", "json", "parquet"]
    # Glob, relative to <storage.root>/raw unless absolute.
    path: str
    columns: list[ColumnSpec]
    primary_key: list[str] = field(default_factory=list)
    description: str = ""
    refresh: str = "daily"
    owner: str = ""
    pii: list[str] = field(default_factory=list)
    kpis: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    max_reject_rate: float | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns if c is not None]
        if not names:
            raise ValueError("columns must declare at least one column")
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"columns declared twice: {duplicated}")
        for key_list, label in ((self.primary_key, "primary_key"), (self.pii, "pii")):
            missing = sorted(set(key_list) - set(names))
            if missing:
                raise ValueError(f"{label} names undeclared column(s) {missing}")


@dataclass(frozen=True)
class RuleSpec:
    """One validation rule on a table, checked whenever a job writes that table."""

    check: Literal["not_null", "unique", "range", "regex", "allowed", "references"]
    column: str | None = None
    columns: list[str] = field(default_factory=list)   # unique / references: the key columns
    values: list[str] = field(default_factory=list)    # allowed
    pattern: str | None = None                         # regex (Java syntax)
    min: str | None = None                             # range bounds, cast to the column's type
    max: str | None = None
    table: str | None = None                           # references: the referenced table
    to: list[str] = field(default_factory=list)        # references: its key columns
    severity: Literal["error", "warn"] = "error"
    max_share: float = 0.0                             # share of rows allowed to break the rule
    description: str = ""

    def __post_init__(self) -> None:
        needs_column = self.check in ("not_null", "range", "regex", "allowed")
        if needs_column and not self.column:
            raise ValueError(f"a {self.check} rule needs `column`")
        if self.check in ("unique", "references") and not (self.columns or self.column):
            raise ValueError(f"a {self.check} rule needs `columns`")
        if self.check == "range" and self.min is None and self.max is None:
            raise ValueError("a range rule needs `min`, `max` or both")
        if self.check == "regex" and not self.pattern:
            raise ValueError("a regex rule needs `pattern`")
        if self.check == "allowed" and not self.values:
            raise ValueError("an allowed rule needs `values`")
        if self.check == "references" and (not self.table or len(self.to) != len(self.key_columns)):
            raise ValueError("a references rule needs `table` and as many `to` columns as `columns`")
        if not 0.0 <= self.max_share <= 1.0:
            raise ValueError(f"max_share must be between 0 and 1, got {self.max_share}")

    @property
    def key_columns(self) -> list[str]:
        return self.columns or ([self.column] if self.column else [])

    @property
    def name(self) -> str:
        target = ",".join(self.key_columns)
        return f"{self.check}({target}{' -> ' + self.table if self.table else ''})"


@dataclass(frozen=True)
class DriftSettings:
    """Bounds on change against a table's previous version, checked on every write."""

    max_row_change: float = 0.5          # |rows - previous| / previous
    max_null_share_change: float = 0.10  # absolute change of a column's null share
    max_distinct_change: float = 0.5     # relative change of approximate distinct counts
    severity: Literal["error", "warn"] = "warn"
    distinct_columns: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class QualitySettings:
    rules_file: str = "conf/rules.yaml"
    drift: DriftSettings = field(default_factory=DriftSettings)
    audit_tables: list[str] = field(default_factory=list)
    top_values: int = 5
    histogram_bins: int = 20
    iqr_factor: float = 1.5
    z_threshold: float = 3.0


PROPENSITY_TARGETS = ("churn", "purchase")
PROPENSITY_FEATURES = (
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "interpurchase_days_mean",
    "category_breadth", "discount_rate", "return_rate", "spend_90d", "spend_trend", "sessions_90d",
    "page_views_90d", "cart_adds_90d", "cart_abandonment_rate", "sessions_7d", "engagement_spike", "age",
)


@dataclass(frozen=True)
class PropensitySettings:
    # churn: no kept order in the horizon after the as-of date (customers with an order before
    # it); purchase: an order in the horizon (in `category` only, when set).
    targets: list[str] = field(default_factory=lambda: ["churn", "purchase"])
    category: str | None = None
    horizon_days: int = 90
    # Rolling origins: as-of dates `origin_step_days` apart, the latest one `horizon_days`
    # before the end of the data so that its labels are fully observed. The latest origin
    # is the test set; the earlier ones train.
    origins: int = 4
    origin_step_days: int = 30
    features: list[str] = field(default_factory=lambda: list(PROPENSITY_FEATURES))
    algorithm: Literal["gbt", "random_forest"] = "gbt"
    # Grid searched by TrainValidationSplit within each model (parameter -> values).
    grid: dict[str, list[float]] = field(default_factory=lambda: {"maxDepth": [3, 5], "maxIter": [20]})
    train_ratio: float = 0.75
    # A segment with fewer training rows or positives than these uses the global model.
    min_segment_rows: int = 300
    min_segment_positives: int = 30
    # Segment models fitted at once; their Spark jobs run side by side.
    parallelism: int = 2
    seed: int = 7
    mlflow: bool = True
    # null: a file store under <storage.root>/mlruns; else any MLflow tracking URI.
    tracking_uri: str | None = None
    experiment: str = "custseg-propensity"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.targets) - set(PROPENSITY_TARGETS))
        if not self.targets or unknown:
            raise ValueError(f"targets must be a non-empty subset of {', '.join(PROPENSITY_TARGETS)}, "
                             f"got {self.targets}")
        if not self.features:
            raise ValueError("features must name at least one customer feature")
        if self.horizon_days < 1 or self.origin_step_days < 1:
            raise ValueError("horizon_days and origin_step_days must be >= 1")
        if self.origins < 2:
            raise ValueError(f"origins must be >= 2 (one to test, the others to train), got {self.origins}")
        if not 0.0 < self.train_ratio < 1.0:
            raise ValueError(f"train_ratio must be in (0, 1), got {self.train_ratio}")
        allowed = {"maxIter", "maxDepth", "stepSize", "numTrees", "minInstancesPerNode", "subsamplingRate"}
        stray = sorted(set(self.grid) - allowed)
        if stray:
            raise ValueError(f"grid parameters {stray} are not among {sorted(allowed)}")
        if any(not values for values in self.grid.values()):
            raise ValueError("every grid parameter needs at least one value")
        if self.parallelism < 1:
            raise ValueError(f"parallelism must be >= 1, got {self.parallelism}")


@dataclass(frozen=True)
class RecommendSettings:
    # Implicit feedback: weight of each interaction (event types and purchased order lines).
    weights: dict[str, float] = field(
        default_factory=lambda: {"product_view": 1.0, "add_to_cart": 3.0, "purchase": 5.0})
    history_days: int = 365
    mode: Literal["global", "per_segment"] = "global"
    rank: int = 16
    max_iter: int = 10
    reg_param: float = 0.1
    alpha: float = 10.0
    top_n: int = 10
    candidates: int = 50
    # Re-ranking: score = (1 - w) * collaborative score + w * the segment's affinity to the
    # product's category (both scaled to [0, 1]).
    segment_weight: float = 0.3
    # Products bought in the last `recent_purchase_days` are not recommended again unless their
    # category is replenishable (or the product is marked replenishable in products_clean).
    recent_purchase_days: int = 90
    replenishable_categories: list[str] = field(default_factory=lambda: ["grocery", "beauty"])
    # Offline evaluation: train before the last `holdout_days`, judge on purchases in them.
    holdout_days: int = 30
    seed: int = 11

    def __post_init__(self) -> None:
        stray = sorted(set(self.weights) - {"product_view", "add_to_cart", "purchase"})
        if stray or not self.weights or any(w <= 0 for w in self.weights.values()):
            raise ValueError("weights must map product_view, add_to_cart and/or purchase to positive numbers")
        if self.rank < 1 or self.max_iter < 1 or self.top_n < 1 or self.candidates < self.top_n:
            raise ValueError("need rank, max_iter, top_n >= 1 and candidates >= top_n")
        if not 0.0 <= self.segment_weight <= 1.0:
            raise ValueError(f"segment_weight must be in [0, 1], got {self.segment_weight}")
        if self.holdout_days < 1 or self.history_days <= self.holdout_days:
            raise ValueError("need 1 <= holdout_days < history_days")


@dataclass(frozen=True)
class PrivacySettings:
    """Pseudonymization key, consent and erasure (custseg.governance)."""

    # The HMAC-SHA256 key: read from this environment variable, else from key_file (outside the repository).
    key_env: str = "CUSTSEG_PRIVACY_KEY"
    key_file: str | None = None
    # Channels a consent can name: every channel the stream routes to must be one of them.
    consent_channels: list[str] = field(default_factory=lambda: ["email", "sms", "push", "ads"])
    # The sources' opt_in field (general marketing consent) is consent for these channels.
    opt_in_channels: list[str] = field(default_factory=lambda: ["email", "push"])
    # Channel whose latest consent decides who is in segment_export.
    export_channel: str = "email"
    # Channel whose latest consent decides who gets recommendations.
    recommend_channel: str = "email"
    # customer_master columns exported as keyed hashes, for matching in activation platforms.
    export_identifiers: list[str] = field(default_factory=lambda: ["email", "phone_e164"])

    def __post_init__(self) -> None:
        if not self.key_env and not self.key_file:
            raise ValueError("set key_env or key_file: the pseudonymization key needs a place to come from")
        for name in ("export_channel", "recommend_channel"):
            if getattr(self, name) not in self.consent_channels:
                raise ValueError(f"{name} {getattr(self, name)!r} is not among consent_channels "
                                 f"{self.consent_channels}")
        unknown_channels = [c for c in self.opt_in_channels if c not in self.consent_channels]
        if unknown_channels or not self.opt_in_channels:
            raise ValueError(f"opt_in_channels must be a non-empty list of consent_channels {self.consent_channels}, "
                             f"got {self.opt_in_channels}")
        unknown = sorted(set(self.export_identifiers) - {"email", "phone_e164"})
        if unknown:
            raise ValueError(f"export_identifiers takes email and phone_e164, not {unknown}")


@dataclass(frozen=True)
class Settings:
    spark: SparkSettings = field(default_factory=SparkSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    generate: GenerateSettings = field(default_factory=GenerateSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    clean: CleanSettings = field(default_factory=CleanSettings)
    resolve: ResolveSettings = field(default_factory=lambda: ResolveSettings(
        columns={"record_id": "record_id", "email": "email"}, blocking=[BlockingRule("email", "exact", ["email"])]))
    features: FeatureSettings = field(default_factory=FeatureSettings)
    segment: SegmentSettings = field(default_factory=lambda: SegmentSettings(features=["frequency", "monetary"]))
    quality: QualitySettings = field(default_factory=QualitySettings)
    stream: StreamSettings = field(default_factory=StreamSettings)
    propensity: PropensitySettings = field(default_factory=PropensitySettings)
    recommend: RecommendSettings = field(default_factory=RecommendSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    sources: dict[str, SourceSpec] = field(default_factory=dict)
    rules: dict[str, list[RuleSpec]] = field(default_factory=dict)
