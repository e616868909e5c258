"""Gold tables: resolved customers, features and segments."""
