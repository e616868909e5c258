"""spark-submit entry point for the `stream` job: ./spark-submit.sh stream --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["stream", *sys.argv[1:]]))
