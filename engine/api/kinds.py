"""Run kinds (sft, dpo, grpo, eval, search, merge and plugins): the registry's lists and entries."""

from tailor.engine.kinds import (
    Kind,
    chainable,
    data_tasks,
    either,
    evaluable,
    get,
    model_producing,
    trainable,
)

__all__ = ["Kind", "chainable", "data_tasks", "either", "evaluable", "get", "model_producing", "trainable"]
