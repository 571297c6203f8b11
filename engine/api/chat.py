"""Chat with models (the playground): the settings and messages of a turn, the pair of sides (a
fine-tune beside its base), latency lines, and saving a turn as a training example."""

from tailor.engine.chat.examples import append_example
from tailor.engine.chat.protocol import ChatSettings, messages_for
from tailor.engine.chat.session import Side, latency_line, pair_for

__all__ = ["ChatSettings", "Side", "append_example", "latency_line", "messages_for", "pair_for"]
