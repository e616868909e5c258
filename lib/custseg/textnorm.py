"""Column functions for text normalization, built from Spark built-ins only.

``fold_accents`` maps Latin letters with diacritics to ASCII (é -> e, ß -> ss, Æ -> AE) with
``translate`` and a few ``regexp_replace`` calls for the letters that expand to two.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column
from pyspark.sql import functions as F

_ACCENTED = "ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿŠšŽžČčĆćŁłŃńŚśŹźŻżĚěŘřŮůŐőŰű"
_PLAIN = "AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOOooooooUUUUuuuuYyySsZzCcCcLlNnSsZzZzEeRrUuOoUu"
_EXPANDING = (("ß", "ss"), ("Æ", "AE"), ("æ", "ae"), ("Œ", "OE"), ("œ", "oe"), ("Þ", "TH"), ("þ", "th"))

assert len(_ACCENTED) == len(_PLAIN)


def fold_accents(col: Column) -> Column:
    folded = F.translate(col, _ACCENTED, _PLAIN)
    for letter, replacement in _EXPANDING:
        folded = F.regexp_replace(folded, letter, replacement)
    return folded


def squash_spaces(col: Column) -> Column:
    """Trim and collapse runs of whitespace (including no-break spaces) into one space."""
    return F.trim(F.regexp_replace(col, r"[\s\u00A0]+", " "))


def blank_to_null(col: Column) -> Column:
    trimmed = squash_spaces(col)
    return F.when(trimmed != "", trimmed)


def letters_only_key(col: Column) -> Column:
    """Lower-case ASCII letters only: 'O'Brien-Smith' -> 'obriensmith'. For matching and emails."""
    return F.regexp_replace(F.lower(fold_accents(col)), "[^a-z]", "")


def let(value: Column, body: Callable[[Column], Column]) -> Column:
    """``body(value)`` with ``value`` computed once.

    Column expressions held in Python variables are inlined wherever they are used; an
    expression used many times (a trimmed text tested by ten regular expressions) grows the
    plan until Spark's generated code no longer compiles. Binding it to a lambda variable of a
    one-element ``transform`` evaluates it once and refers to it by name.
    """
    return F.element_at(F.transform(F.array(value), body), 1)
