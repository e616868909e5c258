"""spark-submit entry point for the `ingest` job: ./spark-submit.sh ingest --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
