"""Identity resolution: blocking, Fellegi-Sunter scoring, clustering, golden records."""

from custseg.resolve.components import connected_components
from custseg.resolve.engine import Resolution, level_names, resolve
from custseg.resolve.golden import golden_records
from custseg.resolve.model import FellegiSunterModel

__all__ = ["FellegiSunterModel", "Resolution", "connected_components", "golden_records", "level_names",
           "resolve"]
