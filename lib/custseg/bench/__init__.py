"""The benchmarks, which run jobs and so sit above them: `custseg bench` and `custseg bench-resolve`
(``stages``), `custseg bench-stream` (``stream``). Results go to ``bench/results``. ``anchors``
races the tools a team would pick instead on one machine (DuckDB, scikit-learn, Splink) in the
same runs."""

from custseg.bench.stages import (
    RESOLVE_FIGURES,
    main,
    markdown_table,
    pipeline_stages,
    resolve_main,
    resolve_quality,
    resolve_table,
)

__all__ = [
    "RESOLVE_FIGURES", "main", "markdown_table", "pipeline_stages", "resolve_main", "resolve_quality", "resolve_table",
]
