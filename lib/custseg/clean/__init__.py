"""Standardize bronze tables into silver: each rule a column function, each change logged."""

from custseg.clean.commerce import clean_events, clean_order_lines, clean_orders, clean_products, latest_per_key
from custseg.clean.log import cleaning_log
from custseg.clean.records import FLAG_RULES, standardize_crm, standardize_web

__all__ = [
    "FLAG_RULES", "clean_events", "clean_order_lines", "clean_orders", "clean_products", "cleaning_log",
    "latest_per_key", "standardize_crm", "standardize_web",
]
