"""Privacy and governance: erasure, pseudonymization, consent, lineage and erased-subject filters."""

from custseg.governance.erasure import erase_person
from custseg.governance.keys import hmac_column, load_key

__all__ = ["erase_person", "hmac_column", "load_key"]
