"""Table declarations, one module per layer. Importing this package registers them all."""

from custseg.tables import gold, governance, ops, silver, truth  # noqa: F401
