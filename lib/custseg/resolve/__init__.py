"""Identity resolution: blocking, Fellegi-Sunter scoring, clustering, golden records.

`resolve_run` is a whole run (what the `resolve` job does); `resolve` the matching of prepared
identities in full, `resolve_incremental` the matching of what changed since the last run.
"""

from custseg.resolve.components import connected_components
from custseg.resolve.decisions import read_decisions
from custseg.resolve.engine import Resolution, level_names, resolve
from custseg.resolve.golden import golden_records
from custseg.resolve.identities import check_mapping, read_input
from custseg.resolve.incremental import IncrementalResolution, resolve_incremental
from custseg.resolve.incremental_state import require_state
from custseg.resolve.model import FellegiSunterModel
from custseg.resolve.run import MATCHING_STARTS, RunInput, RunOutcome, resolve_run
from custseg.resolve.workspace import Workspace

__all__ = ["MATCHING_STARTS", "FellegiSunterModel", "IncrementalResolution", "Resolution", "RunInput", "RunOutcome",
           "Workspace", "check_mapping", "connected_components", "golden_records", "level_names", "read_decisions",
           "read_input", "require_state", "resolve", "resolve_incremental", "resolve_run"]
