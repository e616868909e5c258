"""Table declarations, one module per layer. Importing this package registers them all."""

from custseg.tables import act, gold, ops, silver, truth  # noqa: F401
