"""spark-submit entry point for the `propensity` job: ./spark-submit.sh propensity --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["propensity", *sys.argv[1:]]))
