"""Remote GPU hosts over SSH: host config, host-key trust, quoting, sync, bootstrap, GPU inventory.

The client side (``tailor.engine.executors.ssh``) talks to ``python -m tailor.engine.remote OP ...`` on the host, which
runs the same ``tailor.engine.runs`` / ``tailor.engine.worker`` code against a workspace there. See docs/remote.md.
Importing this package is light: asyncssh is imported only by the modules that connect.
"""
