"""Per-customer features as of a date: purchases, engagement, demographics, lifecycle, RFM."""

from custseg.features.build import build_features, default_as_of

__all__ = ["build_features", "default_as_of"]
