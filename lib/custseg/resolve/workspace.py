"""Where a resolve run reads and stages its tables: the job context, or anything shaped like it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pyspark.sql import DataFrame

from custseg.runtime.phases import PhaseClock
from custseg.tables.spec import WriteMode


class Workspace(Protocol):
    """Tables by name, each read at one version for the whole run, and writes staged to be
    committed together; ``write`` returns the staged data, which later reads reuse."""

    clock: PhaseClock

    def table_exists(self, name: str) -> bool: ...

    def read(self, name: str) -> DataFrame: ...

    def write(self, name: str, df: DataFrame, mode: WriteMode | None = None) -> DataFrame: ...

    def write_rows(self, name: str, rows: Sequence[Sequence[Any]], mode: WriteMode | None = None) -> DataFrame: ...
