"""The segment report: one self-contained HTML page per segmentation run, with inline charts."""

from custseg.report.data import ReportData, Segment, gather
from custseg.report.render import render

__all__ = ["ReportData", "Segment", "gather", "render"]
