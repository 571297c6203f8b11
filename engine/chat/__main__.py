"""``python -m tailor.engine.chat --ws WORKSPACE``: the chat worker (see engine.chat.worker)."""

from tailor.engine.chat.worker import main

main()
