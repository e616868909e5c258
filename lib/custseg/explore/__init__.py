"""Exploring the outputs in notebooks: tables at any version, bounded frames and charts."""

from custseg.explore import act, activations
from custseg.explore.figures import (
    annotated_heatmap,
    grouped_bars,
    quantile_boxes,
    reliability_curve,
    sankey,
    waterfall,
)
from custseg.explore.frames import model_space_sample, threshold_curve, transition
from custseg.explore.tables import Tables, open_tables

__all__ = ["Tables", "act", "activations", "annotated_heatmap", "grouped_bars", "model_space_sample", "open_tables",
           "quantile_boxes", "reliability_curve", "sankey", "threshold_curve", "transition", "waterfall"]
