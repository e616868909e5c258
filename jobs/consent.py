"""spark-submit entry point for `consent build`: ./spark-submit.sh consent --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["consent", "build", *sys.argv[1:]]))
