"""Acting on segments: leakage-free labels, per-segment propensity models and recommendations."""

from custseg.act.labels import feature_snapshots, future_orders, labelled_snapshots, rolling_origins, with_label
from custseg.act.stage import propensity_body

__all__ = ["feature_snapshots", "future_orders", "labelled_snapshots", "propensity_body", "rolling_origins",
           "with_label"]
