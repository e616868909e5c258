"""Real-time segments: abandoned carts from the event stream, decided in event time and
activated exactly once (`custseg stream`), and the live feed that drives it (`custseg replay`).

Names resolve on first use: Python workers unpickling the cart processor import this package,
and must not pay for the driver's imports (Delta, the table store) while Spark waits for them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "StreamReport": "custseg.stream.query", "run_stream": "custseg.stream.query", "stream_path": "custseg.stream.query",
    "plan_feed": "custseg.stream.feed", "read_truth": "custseg.stream.feed", "write_feed": "custseg.stream.feed",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module custseg.stream has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
