"""spark-submit entry point for the `assign` job: ./spark-submit.sh assign --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["assign", *sys.argv[1:]]))
