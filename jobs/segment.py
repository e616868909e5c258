"""spark-submit entry point for the `segment` job: ./spark-submit.sh segment --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["segment", *sys.argv[1:]]))
