"""Tailor's widgets: nav bar, run table, run detail (curves, progress, stats), log pane."""
