"""The selected run: title, stats (learning rate, throughput), progress with ETA, loss curves, log."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import ProgressBar, Static

from tailor.tui.widgets.curves import Curves
from tailor.tui.widgets.log_pane import LogPane
from tailor.tui.widgets.run_data import RunInfo
from tailor.tui.widgets.styles import STATE_VARIABLE, theme_style


class RunDetail(Vertical):
    DEFAULT_CSS = """
    RunDetail { height: 1fr; }
    RunDetail #detail-title { height: 1; padding: 0 1; background: $boost; }
    RunDetail #detail-stats { height: auto; max-height: 3; padding: 0 1; color: $foreground-muted; }
    RunDetail #detail-progress-row { height: 1; padding: 0 1; }
    RunDetail ProgressBar { width: auto; }
    RunDetail ProgressBar Bar { width: 1fr; min-width: 10; }
    RunDetail #detail-eta { width: 1fr; height: 1; padding-left: 1; color: $foreground-muted; }
    RunDetail #detail-body { height: 1fr; }
    RunDetail Curves { width: 1fr; }
    RunDetail LogPane { width: 1fr; }
    """

    @dataclass
    class Ready(Message):
        """Posted once mounted (the Runs screen mounts the pane lazily, after the first paint)."""

        detail: RunDetail

    def __init__(self, log_max_lines: int = 5000, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.log_max_lines = log_max_lines
        self.run_id: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("No run selected: press n to launch one", id="detail-title", markup=False)
        yield Static("", id="detail-stats", markup=False)
        with Horizontal(id="detail-progress-row"):
            yield ProgressBar(total=100, show_eta=False, show_percentage=True, id="detail-progress")
            yield Static("", id="detail-eta", markup=False)
        with Horizontal(id="detail-body"):
            yield Curves("Loss", id="detail-curves")
            yield LogPane(self.log_max_lines, id="detail-log")  # the screen sets the configured cap

    def on_mount(self) -> None:
        self.post_message(self.Ready(self))

    @property
    def log_pane(self) -> LogPane:
        return self.query_one(LogPane)

    def show_run(self, info: RunInfo | None, now: float) -> None:
        """Switch to ``info`` (or to nothing): the log is replaced, everything else redrawn."""
        self.run_id = info.run_id if info else None
        self.log_pane.reset(info.log if info else [])
        self.refresh_run(info, now)

    def refresh_run(self, info: RunInfo | None, now: float) -> None:
        """Redraw title, stats, progress and curves from ``info`` (cheap when nothing changed)."""
        title = self.query_one("#detail-title", Static)
        if info is None:
            title.update("No run selected: press n to launch one")
            self.query_one("#detail-stats", Static).update("")
            self.query_one("#detail-eta", Static).update("")
            self.query_one(ProgressBar).update(total=100, progress=0)
            self.query_one(Curves).show([])
            return
        status = info.status
        text = Text()
        text.append(info.run_id, style=theme_style(self.app, "foreground", bold=True))
        text.append("  ")
        text.append(info.word, style=theme_style(self.app, STATE_VARIABLE.get(info.word, "foreground"), bold=True))
        if status.scheduler and status.state.active:  # a Slurm job waiting: why
            text.append(f" ({status.scheduler})")
        text.append(f"  {status.kind} · {info.host}")
        if status.attempt:
            text.append(f" · attempt {status.attempt + 1}")
        title.update(text)
        self.query_one("#detail-stats", Static).update(self._stats(info))
        step, total = info.progress()
        bar = self.query_one(ProgressBar)
        if total:
            bar.update(total=total, progress=min(step, total))
        else:  # unknown total (not started yet): an empty bar, never the animated one
            bar.update(total=100, progress=0)
        self.tick(info, now)
        curves = self.query_one(Curves)
        curves.title = "Reward" if info.rewards else "Loss"  # RL: the reward is what rises; its loss says little
        if info.rewards:
            curves.show([(k.removeprefix("rewards/").removesuffix("/mean"), v) for k, v in info.rewards.items()])
        else:
            curves.show([("train loss", info.loss), ("eval loss", info.eval_loss)])

    def tick(self, info: RunInfo, now: float) -> None:
        """The step, elapsed and ETA line: all that moves on its own, once a second for an active run (the
        rest of the pane changes with the run; an update with the same text is skipped, and one with new text
        repaints this line only: laying out the pane each second was most of an idle screen's CPU)."""
        from tailor.engine.api.runs import duration

        step, total = info.progress()
        eta = info.eta(now)
        parts = [f"step {step}/{total}" if total else f"step {step}", f"elapsed {duration(info.elapsed(now))}"]
        if eta is not None:
            parts.append(f"ETA {duration(eta)}")
        line = self.query_one("#detail-eta", Static)
        if str(line.content) != (text := " · ".join(parts)):
            line.update(text, layout=False)  # one line of fixed size: a repaint, not a layout of the pane

    def _stats(self, info: RunInfo) -> Text:
        from tailor.engine.api.runs import number

        status = info.status
        # The lineage comes first: the box is at most three lines high, and at 80 columns the numbers wrap.
        items = self._lineage(info)
        lr = info.lr[-1][1] if info.lr else status.latest.get("learning_rate")
        items.append(f"lr {number(lr)}")
        items.append(info.speed or "speed -")
        if info.epoch is not None:
            items.append(f"epoch {info.epoch:.2f}")  # a float (RunInfo keeps no other), inf and nan included
        if info.grad_norm is not None:
            items.append(f"grad {number(info.grad_norm)}")
        items.append(f"loss {number(status.latest.get('loss'))}")
        items.append(f"eval {number(status.latest.get('eval_loss'))}")
        # Preference runs (docs/preference.md): reward accuracy and margin beside the losses.
        # GRPO: the reward's spread, KL to the start, completion length and how many hit the length limit.
        for key, label in (("rewards/accuracies", "acc"), ("rewards/margins", "margin"), ("reward", "reward"),
                           ("reward_std", "±"), ("kl", "kl"), ("completions/mean_length", "len"),
                           ("completions/clipped_ratio", "clipped")):
            if key in status.latest:
                items.append(f"{label} {number(status.latest[key])}")
        settings = info.settings
        if settings.method:  # what this run trained with, beside what it reached
            items.append(" ".join(filter(None, (settings.method, settings.r and f"r={settings.r}", settings.model))))
        text = Text(" · ".join(items))
        if info.damaged:  # readers skip damaged event lines: said, never silent
            text.append(f" · {info.damaged}", style=theme_style(self.app, "warning"))
        if status.error:
            text.append("\n")
            text.append(status.error, style=theme_style(self.app, "error"))
        return text

    @staticmethod
    def _lineage(info: RunInfo) -> list[str]:
        """The trial and its study, the run this one started from (p), the runs started from it (P)."""
        settings, items = info.settings, []
        if settings.study:
            items.append(f"trial {settings.trial} of study {settings.study}" if settings.trial else f"study {settings.study}")
        parent = settings.from_run or info.status.links.get("from_run")
        if parent:
            items.append(f"from {parent} (p)")
        if info.child_ids:
            more = f" +{len(info.child_ids) - 1} more" if len(info.child_ids) > 1 else ""
            items.append(f"children {info.child_ids[0]}{more} (P)")
        return items

    def add_log_lines(self, run_id: str, lines: list[str]) -> None:
        if run_id == self.run_id and lines:
            self.log_pane.add_lines(lines)
