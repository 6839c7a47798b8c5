"""``python -m ocrflow.demo OUT_DIR [--seed N]``."""

import sys

from ocrflow.demo.generate import main

if __name__ == "__main__":
    sys.exit(main())
