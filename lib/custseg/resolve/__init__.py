"""Identity resolution: link source records, cluster them, build golden records."""

from custseg.resolve.components import connected_components
from custseg.resolve.exact import exact_key_edges, record_node
from custseg.resolve.golden import golden_records

__all__ = ["connected_components", "exact_key_edges", "golden_records", "record_node"]
