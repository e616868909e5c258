"""spark-submit entry point for the `export` job: ./spark-submit.sh export --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
