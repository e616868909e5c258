"""The pseudonymization key and keyed hashes (HMAC-SHA256, RFC 2104) built from Spark built-ins.

HMAC(k, m) = SHA256((k ^ opad) || SHA256((k ^ ipad) || m)). Spark has ``sha2`` over binary but no
HMAC, so the padded keys are computed once on the driver and concatenated as binary literals:
no Python UDF touches a row. The key comes from an environment variable or a key file kept
outside the repository; it is never written to a table, a log or a commit.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from pyspark.sql import Column
from pyspark.sql import functions as F

from custseg.config import Config
from custseg.errors import EnvironmentProblem

_BLOCK = 64  # SHA-256 block size in bytes
MIN_KEY_BYTES = 16


def load_key(config: Config) -> bytes:
    """The key from ``privacy.key_env`` (if set in the environment), else from ``privacy.key_file``.

    Raises:
        EnvironmentProblem: neither holds a key, or the key is shorter than 16 bytes.
    """
    settings = config.privacy
    text = os.environ.get(settings.key_env, "") if settings.key_env else ""
    origin = f"environment variable {settings.key_env}"
    if not text and settings.key_file:
        path = Path(settings.key_file).expanduser()
        if not path.is_file():
            raise EnvironmentProblem(f"the pseudonymization key file {path} (privacy.key_file) does not exist")
        text, origin = path.read_text(encoding="utf-8").strip(), f"key file {path}"
    if not text:
        raise EnvironmentProblem(
            f"no pseudonymization key: set the environment variable {settings.key_env} "
            "or privacy.key_file to a file outside the repository holding at least 16 random bytes"
        )
    key = text.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise EnvironmentProblem(f"the pseudonymization key in {origin} is shorter than {MIN_KEY_BYTES} bytes")
    return key


def normalized(col: Column) -> Column:
    """The form every identifier is hashed in: trimmed, lower case."""
    return F.lower(F.trim(col.cast("string")))


def hmac_column(col: Column, key: bytes) -> Column:
    """Hex HMAC-SHA256 of ``col`` (as UTF-8 text) under ``key``; null stays null."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner_pad = bytes(b ^ 0x36 for b in key)
    outer_pad = bytes(b ^ 0x5C for b in key)
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_pad), col.cast("string").cast("binary")), 256))
    return F.sha2(F.concat(F.lit(outer_pad), inner), 256)


def hmac_text(text: str, key: bytes) -> str:
    """The same hash on the driver, for the few identifiers of one request."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
