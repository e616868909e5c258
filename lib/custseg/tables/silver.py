"""Silver tables: standardized, typed, deduplicated source data."""
