"""Files outside the Delta tables (reports, models, raw exports) through the Hadoop filesystem API,
so local paths and URIs both work."""

from __future__ import annotations

from pyspark.sql import SparkSession


def write_text(spark: SparkSession, path: str, text: str) -> None:
    jvm, jsc = spark.sparkContext._jvm, spark.sparkContext._jsc
    assert jvm is not None and jsc is not None
    target = jvm.org.apache.hadoop.fs.Path(path)
    fs = target.getFileSystem(jsc.hadoopConfiguration())
    fs.mkdirs(target.getParent())
    stream = fs.create(target, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def move(spark: SparkSession, source: str, target: str) -> None:
    jvm, jsc = spark.sparkContext._jvm, spark.sparkContext._jsc
    assert jvm is not None and jsc is not None
    src, dst = jvm.org.apache.hadoop.fs.Path(source), jvm.org.apache.hadoop.fs.Path(target)
    fs = src.getFileSystem(jsc.hadoopConfiguration())
    if fs.exists(dst):
        fs.delete(dst, False)
    if not fs.rename(src, dst):
        raise OSError(f"could not move {source} to {target}")


def copy(spark: SparkSession, source: str, target: str) -> None:
    jvm, jsc = spark.sparkContext._jvm, spark.sparkContext._jsc
    assert jvm is not None and jsc is not None
    src, dst = jvm.org.apache.hadoop.fs.Path(source), jvm.org.apache.hadoop.fs.Path(target)
    fs = src.getFileSystem(jsc.hadoopConfiguration())
    jvm.org.apache.hadoop.fs.FileUtil.copy(fs, src, fs, dst, False, True, jsc.hadoopConfiguration())


def exists(spark: SparkSession, path: str) -> bool:
    fs, hadoop_path = filesystem(spark, path)
    return bool(fs.exists(hadoop_path))


def remove(spark: SparkSession, path: str) -> None:
    """Delete ``path`` (a file or a folder with its contents); nothing if it is absent."""
    fs, hadoop_path = filesystem(spark, path)
    if fs.exists(hadoop_path):
        fs.delete(hadoop_path, True)


def filesystem(spark: SparkSession, path: str):  # type: ignore[no-untyped-def]
    """The Hadoop filesystem holding ``path``, and ``path`` as a Hadoop Path."""
    jvm = spark.sparkContext._jvm
    jsc = spark.sparkContext._jsc
    assert jvm is not None and jsc is not None
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(jsc.hadoopConfiguration()), hadoop_path
