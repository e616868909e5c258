"""spark-submit entry point for the `run_all` job: ./spark-submit.sh run_all --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["run_all", *sys.argv[1:]]))
