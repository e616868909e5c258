"""Table declarations, one module per layer. Importing this package registers them all."""

from custseg.tables import act, gold, governance, ops, silver, stream, truth  # noqa: F401
