"""Tailor's terminal UI and CLI. Importing this package loads no ML library."""
