"""spark-submit entry point for the `audit` job: ./spark-submit.sh audit --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["audit", *sys.argv[1:]]))
