"""The audit: a profile of every configured table, as a Delta table and an HTML report."""

from custseg.audit.profile import ColumnProfile, profile_columns
from custseg.audit.report import TableAudit, render

__all__ = ["ColumnProfile", "TableAudit", "profile_columns", "render"]
