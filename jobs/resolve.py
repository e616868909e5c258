"""spark-submit entry point for the `resolve` job: ./spark-submit.sh resolve --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["resolve", *sys.argv[1:]]))
