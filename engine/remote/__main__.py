"""``python -m engine.remote OP --ws WORKSPACE ...`` (the host side; see engine/remote/server.py)."""

import sys

from engine.remote.server import main

if __name__ == "__main__":
    sys.exit(main())
