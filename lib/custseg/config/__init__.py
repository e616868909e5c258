"""Configuration: load, overlay, override and validate before any Spark work starts."""

from custseg.config.loader import deep_merge, find_conf_dir, load_config
from custseg.config.model import ColumnSpec, Settings, SourceSpec
from custseg.config.resolved import Config

__all__ = ["ColumnSpec", "Config", "Settings", "SourceSpec", "deep_merge", "find_conf_dir", "load_config"]
