"""Tables of the real-time layer (`custseg stream`): activations, rejects, the online model."""

from custseg.tables.spec import TableSpec, columns

ACTIVATIONS = TableSpec(
    name="activations", layer="gold", mode="append",
    description="Every real-time decision, once: activated to a channel, or suppressed with the reason.",
    primary_key=("activation_id",),
    columns=columns(
        ("activation_id", "string", "Decision id: a hash of cart_id and the cart's last activity", False),
        ("customer_id", "string", "Resolved customer (identity_crosswalk); null when the account is unknown"),
        ("account_key", "string", "Keyed hash (HMAC-SHA256) of the web/app account the events came from "
                                  "(events.account_id is PII)", False),
        ("cart_id", "string", "The abandoned cart: account_key, '-' and the account's cart number", False),
        ("realtime_segment", "string", "High-Risk Abandoner or Low-Risk, from the online model's cluster", False),
        ("cluster", "int", "Online k-means cluster", False),
        ("batch_segment", "string", "Latest batch segment (customer_segments.segment_name)"),
        ("batch_segment_id", "int", "Latest batch segment id"),
        ("reason", "string", "Why the decision was made: abandoned_cart", False),
        ("cart_value", "double", "Open cart value at the decision, reporting currency", False),
        ("cart_items", "int", "Items in the open cart", False),
        ("session_minutes", "double", "Length of the customer's session so far", False),
        ("recent_views", "int", "Recent product views kept in state", False),
        ("device", "string", "Device of the last event"),
        ("event_time", "timestamp", "Last cart activity (event time)", False),
        ("window_expired_at", "timestamp", "Event time at which the cart's idle window expired", False),
        ("decided_at", "timestamp", "Wall time of the decision (UTC)", False),
        ("channel", "string", "email, push or none", False),
        ("campaign", "string", "Campaign of the routing rule"),
        ("status", "string", "activated or suppressed", False),
        ("suppression", "string",
         "Why not activated (the first that applies): unresolved_customer, no_channel, no_consent, frequency_cap"),
        ("batch_id", "bigint", "Micro-batch that decided it", False),
        ("query_id", "string", "Streaming query id", False),
    ),
)

STREAM_REJECTS = TableSpec(
    name="stream_rejects", layer="ops", mode="append",
    description="Stream input that was not used: malformed rows and events later than the watermark, with the reason.",
    columns=columns(
        ("origin", "string", "File (or Kafka topic/partition/offset) of the row", False),
        ("raw_record", "string", "The row as read"),
        ("event_id", "string", "Event id, when it could be read"),
        ("event_ts", "timestamp", "Event time, when it could be read"),
        ("reason", "string", "Why it was rejected", False),
        ("watermark", "timestamp", "Watermark the event was late against (late events)"),
        ("rejected_at", "timestamp", "Wall time (UTC)", False),
        ("batch_id", "bigint", "Micro-batch of the rejects query", False),
    ),
)

STREAM_CENTRES = TableSpec(
    name="stream_centres", layer="ops",
    description="The online k-means model, one version per update: centre, weight and label of each cluster.",
    primary_key=("cluster",),
    columns=columns(
        ("cluster", "int", "Cluster number", False),
        ("label", "string", "High-Risk Abandoner or Low-Risk, by the configured rule over the centre", False),
        ("centre", "array<double>", "Centre in feature units, in the order of `features`", False),
        ("weight", "double", "Decayed number of carts behind the centre", False),
        ("scale", "array<double>", "Per-feature scale used for distances", False),
        ("features", "array<string>", "Feature names", False),
        ("initialised_from", "string", "customer_features or first_batch", False),
        ("batch_id", "bigint", "Micro-batch of the last update (-1: initial)", False),
        ("updated_at", "timestamp", "Wall time of the update (UTC)", False),
    ),
)

ACTIVATION_DEAD_LETTERS = TableSpec(
    name="activation_dead_letters", layer="ops", mode="append",
    description="Activations the webhook did not accept after every retry.",
    columns=columns(
        ("activation_id", "string", "Activation", False),
        ("url", "string", "Webhook URL", False),
        ("payload", "string", "JSON body posted", False),
        ("attempts", "int", "Attempts made", False),
        ("error", "string", "Last error", False),
        ("failed_at", "timestamp", "Wall time (UTC)", False),
        ("batch_id", "bigint", "Micro-batch", False),
    ),
)

TABLES = (ACTIVATIONS, STREAM_REJECTS, STREAM_CENTRES, ACTIVATION_DEAD_LETTERS)
