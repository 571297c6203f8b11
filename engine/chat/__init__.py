"""Chat with a model: a long-lived worker process that keeps one model loaded and streams tokens.

``python -m tailor.engine.chat --ws WORKSPACE`` reads one JSON request per line on stdin and answers with JSON
lines on stdout (see :mod:`tailor.engine.chat.protocol`). The TUI's Playground and ``tailor chat`` talk to it
through :class:`tailor.engine.chat.client.ChatWorker`, locally or on an SSH host over the same connection, so
no model is ever loaded in the TUI process.
"""
