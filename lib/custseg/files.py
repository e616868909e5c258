"""Files outside the Delta tables (reports, models, raw exports), beside the table store.

Every call goes through the Hadoop FileSystem of the session's JVM, the one Spark itself reads
and writes with, so a local path, a ``file://`` URI and any remote storage root Spark reaches
(``s3a://``, ``hdfs://``, ``abfss://``) behave alike. Beside the table engines (and the session
builder, which turns off local checksum files), no other module calls the Hadoop filesystem.

Examples:
    >>> write_text(spark, "s3a://bucket/custseg/models/m.json", "{}")
    >>> read_text(spark, "s3a://bucket/custseg/models/m.json")
    '{}'
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession

__all__ = ["copy", "exists", "list_files", "move", "read_text", "remove", "remove_checksums", "write_text"]


def exists(spark: SparkSession, path: str) -> bool:
    """Whether ``path`` (a file or a folder) exists."""
    fs, hadoop_path = _filesystem(spark, path)
    return bool(fs.exists(hadoop_path))


def list_files(spark: SparkSession, pattern: str) -> list[str]:
    """Files matching the glob ``pattern`` (``*``, ``?``, ``[ab]``, ``{a,b}``), as sorted URIs.

    Folders are left out, and so are hidden files (names starting with ``.`` or ``_``), as
    Spark's readers leave them out.
    """
    fs, hadoop_path = _filesystem(spark, pattern)
    statuses = fs.globStatus(hadoop_path) or []
    return sorted(
        str(s.getPath().toString()) for s in statuses
        if s.isFile() and not s.getPath().getName().startswith((".", "_"))
    )


def read_text(spark: SparkSession, path: str) -> str:
    """The whole of file ``path``, decoded as UTF-8 (for small files: models, reports).

    Raises:
        FileNotFoundError: ``path`` is missing or is a folder.
    """
    fs, hadoop_path = _filesystem(spark, path)
    if not (fs.exists(hadoop_path) and fs.getFileStatus(hadoop_path).isFile()):
        raise FileNotFoundError(f"no file at {path}")
    stream = fs.open(hadoop_path)
    try:
        return bytes(stream.readAllBytes()).decode("utf-8")
    finally:
        stream.close()


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write ``text`` as UTF-8 to file ``path``, replacing it; creates the folders above it."""
    fs, hadoop_path = _filesystem(spark, path)
    fs.mkdirs(hadoop_path.getParent())
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def move(spark: SparkSession, source: str, target: str) -> None:
    """Move file or folder ``source`` to ``target``, replacing what ``target`` held.

    Both must be on one filesystem. Where a rename is one metadata call (HDFS, a local disk),
    readers see the old ``target`` until the delete and the new one from the rename just after.

    Raises:
        FileNotFoundError: ``source`` is missing.
        OSError: the filesystem refused the rename.
    """
    fs, src = _filesystem(spark, source)
    if not fs.exists(src):
        raise FileNotFoundError(f"nothing to move at {source}")
    dst = _hadoop_path(spark, target)
    fs.mkdirs(dst.getParent())
    if fs.exists(dst):
        fs.delete(dst, True)
    if not fs.rename(src, dst):
        raise OSError(f"could not move {source} to {target}")


def copy(spark: SparkSession, source: str, target: str) -> None:
    """Copy file or folder ``source`` to ``target`` (any two filesystems), overwriting it.

    Raises:
        FileNotFoundError: ``source`` is missing.
    """
    jvm, conf = _jvm_and_conf(spark)
    src_fs, src = _filesystem(spark, source)
    if not src_fs.exists(src):
        raise FileNotFoundError(f"nothing to copy at {source}")
    dst_fs, dst = _filesystem(spark, target)
    if not jvm.org.apache.hadoop.fs.FileUtil.copy(src_fs, src, dst_fs, dst, False, True, conf):
        raise OSError(f"could not copy {source} to {target}")


def remove(spark: SparkSession, path: str) -> None:
    """Delete ``path`` (a file, or a folder with its contents); nothing if it is absent."""
    fs, hadoop_path = _filesystem(spark, path)
    if fs.exists(hadoop_path):
        fs.delete(hadoop_path, True)


def remove_checksums(spark: SparkSession, folder: str) -> None:
    """Delete the checksum side files (``.name.crc``) anywhere under ``folder``.

    Only the local filesystem writes them, and executors in other JVMs write them even where
    the driver was told not to. The local filesystem hides them from its own listings, so they
    are looked for on the raw filesystem beneath it. Other filesystems have none.
    """
    jvm, conf = _jvm_and_conf(spark)
    fs, hadoop_path = _filesystem(spark, folder)
    if fs.getScheme() != "file" or not fs.exists(hadoop_path):
        return
    raw = jvm.org.apache.hadoop.fs.FileSystem.getLocal(conf).getRawFileSystem()
    found = raw.listFiles(hadoop_path, True)
    checksums = []
    while found.hasNext():
        file_path = found.next().getPath()
        if file_path.getName().startswith(".") and file_path.getName().endswith(".crc"):
            checksums.append(file_path)
    for file_path in checksums:
        raw.delete(file_path, False)


def _jvm_and_conf(spark: SparkSession) -> tuple[Any, Any]:
    jvm, jsc = spark.sparkContext._jvm, spark.sparkContext._jsc
    assert jvm is not None and jsc is not None  # a live session always has both
    return jvm, jsc.hadoopConfiguration()


def _hadoop_path(spark: SparkSession, path: str) -> Any:
    jvm, _ = _jvm_and_conf(spark)
    return jvm.org.apache.hadoop.fs.Path(path)


def _filesystem(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """The Hadoop filesystem holding ``path``, and ``path`` as a Hadoop Path."""
    _, conf = _jvm_and_conf(spark)
    hadoop_path = _hadoop_path(spark, path)
    return hadoop_path.getFileSystem(conf), hadoop_path
