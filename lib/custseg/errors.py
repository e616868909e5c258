"""Exceptions that reach the user as one clear message, never as a deep traceback."""


class CustsegError(Exception):
    """Base class: the command line prints the message and exits non-zero."""

    exit_code = 1


class ConfigError(CustsegError):
    """Configuration is invalid; raised before any Spark work starts."""

    exit_code = 2

    def __init__(self, problems: list[str], source: str = "configuration"):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source} has {len(problems)} problem(s):\n{lines}")


class EnvironmentProblem(CustsegError):
    """The machine lacks something the job needs (Java, Delta jars, a free port)."""

    exit_code = 3


class InputDataError(CustsegError):
    """Input data is unusable: a missing source file, too many rejected rows, a broken table."""

    exit_code = 4


class TableError(CustsegError):
    """A Delta table operation was refused: schema mismatch, missing version, unsupported feature."""

    exit_code = 5


class DataQualityError(CustsegError):
    """Validation rules of severity error failed; the job publishes nothing."""

    exit_code = 6
