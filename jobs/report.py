"""spark-submit entry point for the `report` job: ./spark-submit.sh report --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["report", *sys.argv[1:]]))
