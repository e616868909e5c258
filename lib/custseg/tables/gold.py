"""Gold tables: resolved customers, features and segments."""

from custseg.tables.spec import TableSpec, columns

IDENTITY_CROSSWALK = TableSpec(
    name="identity_crosswalk", layer="gold",
    description="Every source record and the customer it belongs to.",
    primary_key=("source", "record_id"),
    columns=columns(
        ("source", "string", "Source table of the record", False),
        ("record_id", "string", "Record id in that source", False),
        ("customer_id", "string", "Resolved customer", False),
        ("cluster_size", "int", "Records in the customer's cluster", False),
        ("link_keys", "array<string>",
         "Blocking rules of the accepted pairs that link this record ('decision' for a person's)", False),
        ("min_link_probability", "double",
         "Weakest link: lowest match probability among the cluster's accepted pairs; null for a lone record"),
        ("id_issued_at", "timestamp", "When this customer id was first issued (the oldest id survives a merge)", False),
        ("cluster_node", "bigint", "Smallest record node of the cluster: the cluster's stable internal key", False),
    ),
)

IDENTITY_CHANGES = TableSpec(
    name="identity_changes", layer="gold", mode="append",
    description="Every new, merged, split and retired customer id, per resolve run.",
    columns=columns(
        ("run_id", "string", "resolve run", False),
        ("change_type", "string", "new, merge, split or retired", False),
        ("customer_id", "string", "The id the change is about (merge: the surviving id)", False),
        ("related_ids", "array<string>",
         "merge: ids merged; split: ids now holding its records; retired: its successor", False),
        ("records_moved", "bigint", "Records whose customer id changed", False),
        ("reason", "string", "Readable reason", False),
    ),
)

CUSTOMER_ID_MAP = TableSpec(
    name="customer_id_map", layer="gold",
    description="Every customer id ever issued and the id that holds its records now: "
                "join here to follow ids across merges.",
    primary_key=("customer_id",),
    columns=columns(
        ("customer_id", "string", "An id issued by some run", False),
        ("current_customer_id", "string", "The id holding its records now; null when all were deleted"),
        ("status", "string", "active, merged or deleted", False),
        ("as_of_run", "string", "resolve run that wrote this mapping", False),
    ),
)

CUSTOMER_MASTER = TableSpec(
    name="customer_master", layer="gold",
    description="Golden record per customer, each field chosen by the configured survivorship rule.",
    primary_key=("customer_id",),
    columns=columns(
        ("customer_id", "string", "Resolved customer", False),
        ("first_name", "string", "Given name"),
        ("last_name", "string", "Family name"),
        ("email", "string", "Email"),
        ("phone_e164", "string", "Phone, E.164"),
        ("birth_date", "date", "Date of birth"),
        ("gender", "string", "male, female, other or unknown"),
        ("street", "string", "Street line"),
        ("city", "string", "City"),
        ("postcode", "string", "Postcode"),
        ("country", "string", "ISO 3166-1 alpha-2"),
        ("record_count", "int", "Source records merged into this customer", False),
        ("sources", "array<string>", "Sources the customer appears in", False),
        ("first_seen_at", "timestamp", "Earliest record creation", False),
        ("last_updated_at", "timestamp", "Latest record update", False),
        ("review_flags", "array<string>", "Strong conflicts inside the cluster (two birth dates...)", False),
    ),
)

CUSTOMER_FEATURES = TableSpec(
    name="customer_features", layer="gold",
    description="Per-customer features computed from data strictly before the as-of date.",
    primary_key=("customer_id",),
    columns=columns(
        ("customer_id", "string", "Resolved customer", False),
        ("as_of_date", "date", "Features use only data from before this date", False),
        ("recency_days", "int", "Days since the last kept order; null without orders"),
        ("frequency", "int", "Kept orders (not cancelled)", False),
        ("monetary", "double", "Net spend on completed orders, reporting currency", False),
        ("avg_order_value", "double", "monetary / completed orders; null without completed orders"),
        ("tenure_days", "int", "Days since the customer was first seen", False),
        ("interpurchase_days_mean", "double", "Mean days between consecutive orders (2+ orders)"),
        ("interpurchase_days_std", "double", "Volatility: standard deviation of those gaps (3+ orders)"),
        ("category_breadth", "int", "Distinct product categories bought", False),
        ("discount_rate", "double", "Share of kept orders with a discount; null without orders"),
        ("return_rate", "double", "Share of kept orders returned; null without orders"),
        ("spend_90d", "double", "Net spend in the last 90 days", False),
        ("spend_trend", "double", "Moving average of weekly spend, last 8 weeks minus the 8 before"),
        ("sessions_90d", "int", "Web/app sessions in the last 90 days", False),
        ("page_views_90d", "int", "Page and product views in the last 90 days", False),
        ("avg_session_minutes_90d", "double", "Mean session length in the last 90 days"),
        ("cart_adds_90d", "int", "Add-to-cart events in the last 90 days", False),
        ("cart_abandonment_rate", "double",
         "Sessions with a cart add but no checkout / sessions with a cart add (90 days)"),
        ("sessions_7d", "int", "Sessions in the last 7 days", False),
        ("engagement_spike", "double",
         "Daily sessions in the last 7 days / daily sessions in the 28 days before (smoothed)", False),
        ("frequency_x_aov", "double", "Interaction: frequency x average order value"),
        ("age", "int", "Age in years at the as-of date"),
        ("age_band", "string", "18-24, 25-34, 35-44, 45-54, 55-64, 65+ or unknown", False),
        ("gender", "string", "male, female, other or unknown", False),
        ("region", "string", "Country (ISO alpha-2) or unknown", False),
        ("lifecycle_stage", "string", "prospect, new, active, loyal, lapsed or churned", False),
        ("r_score", "int", "Recency quintile, 5 = most recent; 0 without orders", False),
        ("f_score", "int", "Frequency quintile, 5 = most orders; 0 without orders", False),
        ("m_score", "int", "Monetary quintile, 5 = highest spend; 0 without orders", False),
        ("rfm_segment", "string", "Rule-based RFM segment (champions, at_risk...)", False),
        ("imputed_columns", "array<string>", "Columns whose missing value was imputed for this customer", False),
        ("capped_columns", "array<string>", "Columns capped at their winsorizing bounds for this customer", False),
        ("outlier_score", "double", "Isolation-forest anomaly score, higher is stranger (null if the model is off)"),
        ("is_outlier", "boolean", "Among the most unusual customers (outlier_contamination share)", False),
    ),
)

CUSTOMER_SEGMENTS = TableSpec(
    name="customer_segments", layer="gold",
    description="Each customer's ML segment, beside rule-based lifecycle, RFM and demographic segments.",
    primary_key=("customer_id",),
    columns=columns(
        ("customer_id", "string", "Resolved customer", False),
        ("as_of_date", "date", "Feature date the segments describe", False),
        ("segment_id", "int", "ML segment id, stable across runs while the segment's centre stays put", False),
        ("segment_name", "string", "Readable name derived from the segment profile", False),
        ("parent_segment_id", "int",
         "Coarser segment holding it (Ward merge of segments); its smallest segment id", False),
        ("parent_segment_name", "string", "Name of the parent segment", False),
        ("lifecycle_stage", "string", "Rule-based lifecycle stage", False),
        ("rfm_segment", "string", "Rule-based RFM segment", False),
        ("age_band", "string", "Demographic band", False),
        ("region", "string", "Country", False),
        ("model_run_id", "string", "Run whose model assigned the segment", False),
    ),
)

SEGMENT_PROFILES = TableSpec(
    name="segment_profiles", layer="gold",
    description="Per ML segment: size, share, key features against the whole base, and its name.",
    primary_key=("segment_id",),
    columns=columns(
        ("segment_id", "int", "ML segment id, carried over from the previous run when the centres match", False),
        ("segment_name", "string", "Readable name", False),
        ("cluster_index", "int", "The model's own cluster number (meaningful within this run only)", False),
        ("parent_segment_id", "int", "Coarser segment holding it", False),
        ("parent_segment_name", "string", "Name of the parent segment", False),
        ("customers", "bigint", "Customers in the segment", False),
        ("share", "double", "Share of all customers", False),
        ("dominant_lifecycle_stage", "string", "Most common lifecycle stage", False),
        ("feature_stats", "array<struct<feature:string,mean:double,median:double,base_mean:double,lift:double>>",
         "Per feature: segment mean and median (original units), base mean, lift = mean / base mean", False),
        ("centroid", "map<string,double>",
         "Centre per model feature after log transform and imputation (matched across runs)", False),
        ("matched_distance", "double", "Distance to the previous run's centre whose id it kept (null: new id)", True),
        ("next_segment_id", "int", "First segment id never issued; ids are not reused", False),
        ("model_run_id", "string", "Run that fitted the model", False),
    ),
)

SEGMENTATION_RUNS = TableSpec(
    name="segmentation_runs", layer="gold", mode="append",
    description="Every k tried by every segment run: fit quality and whether it was chosen.",
    columns=columns(
        ("run_id", "string", "segment run", False),
        ("algorithm", "string", "bisecting_kmeans or kmeans", False),
        ("k", "int", "Clusters asked for", False),
        ("clusters_found", "int", "Non-empty clusters (bisecting k-means may find fewer)", False),
        ("silhouette", "double", "Silhouette (squared Euclidean) on the model's features, over the search's sample",
         False),
        ("cost", "double", "Sum of squared distances to the centres, over the search's sample", False),
        ("smallest_share", "double", "Share of the smallest cluster in the search's sample", False),
        ("eligible", "boolean", "smallest_share >= segment.min_segment_share", False),
        ("chosen", "boolean", "This k was used", False),
        ("pca_components", "int", "Principal components kept (null without PCA)", True),
        ("explained_variance", "double", "Share of the variance those components retain", True),
        ("stability_ari_mean", "double",
         "Chosen k: mean adjusted Rand index of re-fits on bootstrap resamples of the sample vs the model", True),
        ("stability_ari_min", "double", "Chosen k: lowest of those indices", True),
        ("holdout_ari", "double",
         "Chosen k: adjusted Rand index on held-out sampled customers, a fit without them vs the model", True),
        ("archetype_ari", "double",
         "Chosen k, generated data only: adjusted Rand index against the planted archetypes", True),
        ("parent_segments", "int", "Chosen k: segments at the parent level", True),
        ("parent_silhouette", "double",
         "Chosen k: silhouette of the parent level (null when it equals the segments)", True),
        ("fit_seconds", "double", "Wall time to fit this k on the sample (its restarts), assign and score it", False),
    ),
)

SEGMENT_MIGRATIONS = TableSpec(
    name="segment_migrations", layer="gold", mode="append",
    description="Transition matrices between two versions of customer_segments (custseg segments diff).",
    columns=columns(
        ("run_id", "string", "segments diff run", False),
        ("from_version", "bigint", "Earlier customer_segments version", False),
        ("to_version", "bigint", "Later customer_segments version", False),
        ("from_segment", "int", "Segment in the earlier version (null: the customer was absent)", True),
        ("from_name", "string", "Its name, or (absent)", False),
        ("to_segment", "int", "Segment in the later version (null: the customer is absent)", True),
        ("to_name", "string", "Its name, or (absent)", False),
        ("customers", "bigint", "Customers making this move", False),
        ("share_of_from", "double", "customers / customers of the earlier segment", False),
    ),
)

MATCH_PAIRS = TableSpec(
    name="match_pairs", layer="gold",
    description="Every candidate pair scored by the Fellegi-Sunter model, with the evidence of each field.",
    primary_key=("source_l", "record_id_l", "source_r", "record_id_r"),
    columns=columns(
        ("source_l", "string", "First record's source", False),
        ("record_id_l", "string", "First record's id", False),
        ("source_r", "string", "Second record's source", False),
        ("record_id_r", "string", "Second record's id", False),
        ("blocked_by", "string", "First blocking rule that proposed the pair ('decision' if only a person did)", False),
        ("levels", "map<string,string>",
         "Comparison level reached per field (exact, jaro_winkler_0.92, null...)", False),
        ("contributions", "map<string,double>", "Match weight each field added: log2(m/u) of its level", False),
        ("match_weight", "double", "log2 prior odds + sum of contributions", False),
        ("match_probability", "double", "2^w / (1 + 2^w)", False),
        ("decision", "string", "match, review, non_match, forced_match or forced_non_match", False),
    ),
)

REVIEW_QUEUE = TableSpec(
    name="review_queue", layer="gold",
    description="Pairs in the uncertainty band, with both records' values, for a person to decide.",
    primary_key=("source_l", "record_id_l", "source_r", "record_id_r"),
    columns=columns(
        ("source_l", "string", "First record's source", False),
        ("record_id_l", "string", "First record's id", False),
        ("source_r", "string", "Second record's source", False),
        ("record_id_r", "string", "Second record's id", False),
        ("match_probability", "double", "Model probability", False),
        ("values_l", "map<string,string>", "First record's matching values", False),
        ("values_r", "map<string,string>", "Second record's matching values", False),
        ("levels", "map<string,string>", "Comparison level per field", False),
        ("contributions", "map<string,double>", "Weight per field", False),
    ),
)

RESOLUTION_METRICS = TableSpec(
    name="resolution_metrics", layer="gold", mode="append",
    description="Per resolve run: blocking, model and (with ground truth or labels) quality figures.",
    columns=columns(
        ("run_id", "string", "resolve run", False),
        ("metric", "string", "Figure name (pairwise_f1, reduction_ratio, prior...)", False),
        ("value", "double", "Its value", False),
    ),
)

BLOCKING_DIAGNOSTICS = TableSpec(
    name="blocking_diagnostics", layer="gold", mode="append",
    description="Per resolve run and blocking rule: blocks, pairs, the largest blocks and what the size cap skipped.",
    columns=columns(
        ("run_id", "string", "resolve run", False),
        ("rule", "string", "Blocking rule", False),
        ("blocks", "bigint", "Blocks with two or more records within the size cap", False),
        ("estimated_pairs", "bigint",
         "Pairs those blocks give (all pairs up to the window, sorted-neighbourhood pairs beyond), "
         "counting repeats across blocks; an upper bound for a rule with only_if_one_lacks or skip_if_different",
         False),
        ("new_pairs", "bigint", "Candidate pairs this rule found first", False),
        ("largest_blocks", "array<struct<block:string,size:bigint>>", "The five largest blocks", False),
        ("windowed_blocks", "bigint",
         "Blocks over the rule's window (its window, else resolve.block_window), paired by sorted neighbourhood",
         False),
        ("skipped_blocks", "bigint",
         "Blocks over the rule's cap (max_block_size or resolve.max_bucket_size), skipped", False),
        ("skipped_pairs", "bigint", "Pairs those skipped blocks would have produced", False),
        ("omitted_reason", "string",
         "Why a shipped rule was left out (a role it needs is not mapped); null for a rule that ran"),
    ),
)

TABLES = (
    IDENTITY_CROSSWALK,
    IDENTITY_CHANGES,
    CUSTOMER_ID_MAP,
    CUSTOMER_MASTER,
    CUSTOMER_FEATURES,
    CUSTOMER_SEGMENTS,
    SEGMENT_PROFILES,
    SEGMENTATION_RUNS,
    SEGMENT_MIGRATIONS,
    MATCH_PAIRS,
    REVIEW_QUEUE,
    RESOLUTION_METRICS,
    BLOCKING_DIAGNOSTICS,
)
