"""Data quality at stage boundaries: validation rules, drift, and the audit."""

from custseg.quality.checks import CheckResult, check_rules
from custseg.quality.drift import check_drift

__all__ = ["CheckResult", "check_drift", "check_rules"]
