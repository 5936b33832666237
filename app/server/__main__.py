"""``python -m app.server`` = ``command-desk-server``."""

import sys

from app.server.cli import main

sys.exit(main())
