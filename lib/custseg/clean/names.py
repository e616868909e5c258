"""Person names: display values, matching keys, titles and suffixes.

Display values are trimmed and re-cased only when typed all upper or all lower ('SMITH' ->
'Smith', but 'McDonald' and 'de la Cruz' are left alone). Matching keys fold accents and
keep letters only, so 'Zoë' and 'ZOE' share a key. Titles ('Dr', 'Mrs.') and suffixes ('Jr',
'III') are split into their own columns.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from custseg.textnorm import blank_to_null, let, letters_only_key

TITLES = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "herr", "frau", "m", "mme", "mlle")
SUFFIXES = ("jr", "sr", "ii", "iii", "iv", "phd", "md", "esq")
_TITLE_RE = r"^(?i)(" + "|".join(TITLES) + r")\.?\s+"
_SUFFIX_RE = r"(?i)[\s,]+(" + "|".join(SUFFIXES) + r")\.?$"


def split_title(name: Column) -> tuple[Column, Column]:
    """('Dr. John') -> (title 'Dr', name 'John'); a lone word is never taken as a title."""
    cleaned = blank_to_null(name)
    title = F.regexp_extract(cleaned, _TITLE_RE, 1)
    rest = F.regexp_replace(cleaned, _TITLE_RE, "")
    return F.when(title != "", F.initcap(title)), F.when(title != "", rest).otherwise(cleaned)


def split_suffix(name: Column) -> tuple[Column, Column]:
    """('Smith Jr.') -> (name 'Smith', suffix 'Jr')."""
    cleaned = blank_to_null(name)
    suffix = F.regexp_extract(cleaned, _SUFFIX_RE, 1)
    normalized_suffix = F.when(F.lower(suffix).isin("ii", "iii", "iv"), F.upper(suffix)).otherwise(F.initcap(suffix))
    return F.regexp_replace(cleaned, _SUFFIX_RE, ""), F.when(suffix != "", normalized_suffix)


def display_case(name: Column) -> Column:
    """Title-case names typed in one case ('O'BRIEN-SMITH' -> 'O'Brien-Smith'); keep
    deliberate mixed case ('McKenzie', 'de la Cruz') as typed."""
    cleaned = blank_to_null(name)
    one_case = (cleaned == F.upper(cleaned)) | (cleaned == F.lower(cleaned))
    # initcap only capitalizes after whitespace: mark apostrophes and hyphens with a
    # temporary space, capitalize, then remove the marks.
    marked = F.regexp_replace(F.lower(cleaned), "(['\\-])", "$1\u0001 ")
    titled = F.regexp_replace(F.initcap(marked), "\u0001 ", "")
    return F.when(one_case, titled).otherwise(cleaned)


def name_key(name: Column) -> Column:
    """Matching key: accents folded, lower case, letters only; null when nothing is left."""
    return let(letters_only_key(name), lambda key: F.when(key != "", key))


def split_full_name(full_name: Column) -> tuple[Column, Column]:
    """'Jane Smith' -> ('Jane', 'Smith'); 'SMITH, Jane' -> ('Jane', 'SMITH'); one word -> (null, word)."""
    cleaned = blank_to_null(full_name)
    comma = F.instr(cleaned, ",") > 0
    first = F.when(comma, F.trim(F.substring_index(cleaned, ",", -1))).otherwise(
        F.when(F.instr(cleaned, " ") > 0, F.regexp_extract(cleaned, r"^(\S+)\s", 1))
    )
    last = F.when(comma, F.trim(F.substring_index(cleaned, ",", 1))).otherwise(
        F.when(F.instr(cleaned, " ") > 0, F.regexp_extract(cleaned, r"^\S+\s+(.*)$", 1)).otherwise(cleaned)
    )
    return first, last
