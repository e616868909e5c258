"""Ingest declared sources into bronze tables; every rejected record is kept with a reason."""

from custseg.ingest.source import SourceBatch, account, read_source

__all__ = ["SourceBatch", "account", "read_source"]
