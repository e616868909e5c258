"""spark-submit entry point for the `clean` job: ./spark-submit.sh clean --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["clean", *sys.argv[1:]]))
