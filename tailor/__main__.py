"""``python -m tailor``: the ``tailor`` command (the TUI without arguments, else the CLI)."""

from tailor.tui.cli import main

if __name__ == "__main__":
    main()
