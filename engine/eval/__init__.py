"""Evaluation: the base model (zero-shot, few-shot) against fine-tuned runs on a held-out set.

Light modules (importable from the TUI and the CLI): ``metrics`` (catalogue; libraries load lazily),
``results`` (stored format), ``table`` (the models x metrics table). Heavy ones run in the worker:
``run``, ``generation``, ``models``, ``judge``.
"""
