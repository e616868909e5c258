"""spark-submit entry point for the `features` job: ./spark-submit.sh features --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["features", *sys.argv[1:]]))
