"""Exploring the outputs in notebooks: tables at any version, bounded frames and charts."""

from custseg.explore.figures import sankey, waterfall
from custseg.explore.frames import model_space_sample, threshold_curve, transition
from custseg.explore.tables import Tables, open_tables

__all__ = ["Tables", "model_space_sample", "open_tables", "sankey", "threshold_curve", "transition", "waterfall"]
