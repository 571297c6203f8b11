"""``python -m tailor.engine.remote OP --ws WORKSPACE ...`` (the host side; see engine/remote/server.py)."""

import sys

from tailor.engine.remote.server import main

if __name__ == "__main__":
    sys.exit(main())
