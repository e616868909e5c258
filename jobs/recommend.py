"""spark-submit entry point for the `recommend` job: ./spark-submit.sh recommend --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["recommend", *sys.argv[1:]]))
