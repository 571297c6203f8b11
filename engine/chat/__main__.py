"""``python -m engine.chat --ws WORKSPACE``: the chat worker (see engine.chat.worker)."""

from engine.chat.worker import main

main()
