"""The benchmarks, which run jobs and so sit above them: `custseg bench` and `custseg bench-resolve`
(``stages``), `custseg bench-stream` (``stream``). Results go to ``bench/results``."""

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
