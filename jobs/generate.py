"""spark-submit entry point for the `generate` job: ./spark-submit.sh generate --help."""

import sys

from custseg.cli import main

if __name__ == "__main__":
    sys.exit(main(["generate", *sys.argv[1:]]))
