"""The Playground: talk to one or two models side by side (base beside fine-tune), token by token.

Each side (A, B) owns a chat worker process (``python -m tailor.engine.chat``, on the run's host for a remote
run) that keeps its model loaded between prompts; picking another model for a side unloads the old one.
The TUI process only sends messages and shows the streamed tokens (no ML import here). Each side keeps
its own history, so a multi-turn chat shows how each model follows up on *its own* answers.

Keys: type in the prompt and press enter; esc leaves the prompt for the panes (j/k/g/G scroll), where
a/b pick the models, o edits the settings and system prompt, n starts a new conversation, s saves the
last exchange as an eval example, i (or enter) returns to the prompt.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from tailor.tui.keymap import bind
from tailor.tui.screens.base import TailorScreen

if TYPE_CHECKING:
    from tailor.engine.api.chat import Side

SIDES = ("A", "B")


@dataclass
class Pane:
    """What one side shows: finished turns, the answer being streamed, the last latency line."""

    turns: list[tuple[str, str]] = field(default_factory=list)  # (role, text)
    streaming: str | None = None
    latency: str = ""
    note: str = ""


class PlaygroundScreen(TailorScreen):
    @dataclass
    class Token(Message):
        side: str
        text: str

    @dataclass
    class Answered(Message):
        side: str
        done: dict[str, Any]

    @dataclass
    class Loaded(Message):
        side: str
        label: str
        seconds: float

    SCREEN_NAME = "playground"
    DEFAULT_CSS = """
    PlaygroundScreen #pg-header { height: auto; max-height: 3; padding: 0 1; background: $panel; }
    PlaygroundScreen #pg-panes { height: 1fr; }
    PlaygroundScreen .pg-pane { width: 1fr; border: round $primary-darken-2; padding: 0 1; }
    PlaygroundScreen .pg-pane:focus { border: round $accent; }
    PlaygroundScreen #pg-prompt { height: 3; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        bind("playground.pick_a", "a", "pick('A')", "Model A"),
        bind("playground.pick_b", "b", "pick('B')", "Model B"),
        bind("playground.settings", "o", "settings", "Settings"),
        bind("playground.new", "n", "new", "New chat"),
        bind("playground.save", "s", "save", "Save example"),
        bind("playground.prompt", "i,enter", "prompt", "Prompt"),
        bind("playground.down", "j,down", "scroll(1)", "Down", show=False),
        bind("playground.up", "k,up", "scroll(-1)", "Up", show=False),
        bind("playground.top", "g,home", "edge(0)", "Top", show=False),
        bind("playground.bottom", "G,end", "edge(1)", "Bottom", show=False),
        bind("playground.back", "escape", "leave", "Back", show=False),
    ]
    NEEDS_ITEMS = ("pick", "save", "new", "scroll", "edge")

    def empty_hint(self) -> str | None:
        if self.choices or any(self.targets.values()):
            return None
        return "nothing to chat with yet: train a run (n on Runs, or `tailor run demo-sft`), then `tailor chat RUN`"

    def __init__(self) -> None:
        super().__init__()
        from tailor.engine.api.chat import ChatSettings

        self.settings = ChatSettings()
        self.system = ""
        self.targets: dict[str, str | None] = {"A": None, "B": None}
        self.labels: dict[str, str] = {}
        self.sides: dict[str, Side] = {}
        self.panes: dict[str, Pane] = {s: Pane() for s in SIDES}
        self.busy: set[str] = set()
        self.save_path = "probes.jsonl"
        self.choices: list[tuple[str, str]] = []
        self.listed = False  # the choices have been listed once (tests wait on this)
        self.last_prompt: tuple[list[dict[str, str]], str] | None = None
        self.pending: str | None = None  # a prompt typed while a model was loading

    def compose_body(self) -> ComposeResult:
        yield Static("", id="pg-header", markup=False)
        with Horizontal(id="pg-panes"):
            for side in SIDES:
                with VerticalScroll(id=f"pg-pane-{side}", classes="pg-pane", can_focus=True):
                    yield Static("", id=f"pg-text-{side}", markup=False)
        yield Input(placeholder="type a prompt, enter sends · esc: keys (a/b models, o settings, s save, n new)",
                    id="pg-prompt")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#pg-prompt", Input).focus()
        self._draw_all()

    def environment_ready(self) -> None:
        self.list_choices()

    # -- what can be picked ------------------------------------------------------------------
    @work(thread=True, group="playground.choices", exclusive=True, exit_on_error=False)
    def list_choices(self) -> None:
        from tailor.engine.api.evals import model_choices

        found = model_choices(self.tailor.workspace)  # runs, trials, merge runs, exported merged models
        runs = [c for c in found if not c.is_export]
        choices = [(c.ref, c.label) for c in found]
        if runs:
            choices.insert(0, ("base", f"base model of the other side (or of {runs[0].run_id})"))
        if choices:
            choices.append(("-", "nothing (one model only)"))
        latest = runs[0].ref if runs else found[0].ref if found else None
        self.app.call_from_thread(self._set_choices, choices, latest)

    def _set_choices(self, choices: list[tuple[str, str]], latest: str | None) -> None:
        self.choices, self.listed = choices, True
        if latest and self.targets["A"] is None and self.targets["B"] is None:
            self.choose("A", latest)  # a ready-made A/B: the newest fine-tune beside its base
            if any(t == "base" for t, _ in choices):
                self.choose("B", "base")
        self._draw_all()

    # -- models ------------------------------------------------------------------------------
    def base_of(self, side: str) -> str | None:
        other = self.targets["B" if side == "A" else "A"]
        if other and other not in ("base", "-") and not other.startswith("model:"):
            return other
        runs = [t for t, _ in self.choices if t not in ("base", "-") and not t.startswith("model:")]
        return runs[0] if runs else None

    def choose(self, side: str, target: str | None) -> None:
        """Load ``target`` into ``side`` (``-``/None: close that side)."""
        self.targets[side] = None if target in (None, "-") else target
        self.panes[side] = Pane(note="loading…" if self.targets[side] else "")
        self.labels.pop(side, None)
        self._draw_all()
        self._load(side)

    @work(group="playground.load", exit_on_error=False)
    async def _load(self, side: str) -> None:
        from tailor.engine.api.chat import Side
        from tailor.engine.api.runs import host_of

        target = self.targets[side]
        old = self.sides.pop(side, None)
        if target is None:
            if old is not None:
                await self.tailor.bridge.run(old.close())
            return
        ws = self.tailor.workspace
        base_of = self.base_of(side) if target == "base" else None
        ref = base_of if target == "base" else target
        host = None
        if ref and not ref.startswith("model:"):
            try:
                host = host_of(ws.run(ref))
            except Exception:  # resolved (and reported) by the worker
                host = None
        new = old if old is not None and old.worker is not None and (old.worker.host == (host or "local")) else None
        if old is not None and new is None:
            await self.tailor.bridge.run(old.close())
        chat = new or Side(target)
        chat.target, chat.base_of = target, base_of
        try:
            loaded = await self.tailor.bridge.run(chat.open(ws, host))
        except Exception as exc:
            from tailor.engine.api.errors import one_line

            self.panes[side].note = f"cannot load: {one_line(exc)}"
            self.sides[side] = chat
            self._draw_all()
            self._send_pending()
            return
        self.sides[side] = chat
        self.post_message(self.Loaded(side, chat.label, float(loaded.get("seconds") or 0)))

    def on_playground_screen_loaded(self, message: PlaygroundScreen.Loaded) -> None:
        self.labels[message.side] = message.label
        self.panes[message.side].note = f"loaded in {message.seconds:.1f} s"
        self._draw_all()
        self._send_pending()

    # -- chatting ------------------------------------------------------------------------------
    @on(Input.Submitted, "#pg-prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        prompt = event.value.strip()
        if not prompt:
            return
        loading = self._loading()
        if not loading and not self._ready():
            self.notify("no model loaded yet: press esc, then a (and b) to pick models", severity="warning")
            return
        if self.pending is not None:
            self.notify("a prompt is already waiting for the models to load", severity="warning")
            return
        if self.busy:
            self.notify("still answering: wait for both answers", severity="warning")
            return
        event.input.value = ""
        if loading:  # queued, never dropped: sent to both sides once they are loaded
            self.pending = prompt
            for side in loading:
                self.panes[side].note = "loading… your prompt is sent when this model is ready"
            self._draw_all()
            self.notify(f"loading side {' and '.join(loading)}: the prompt is sent when ready")
            return
        self._send(prompt)

    def _loading(self) -> list[str]:
        """Sides with a model picked whose worker has not answered the load yet."""
        return [s for s in SIDES if self.targets[s] and (s not in self.sides or s not in self.labels)
                and not self.panes[s].note.startswith("cannot load")]

    def _ready(self) -> list[str]:
        return [s for s in SIDES if s in self.labels and s in self.sides]

    def _send_pending(self) -> None:
        """A prompt typed while models loaded goes out once none is loading (to the sides that loaded)."""
        if self.pending is None or self._loading():
            return
        prompt, self.pending = self.pending, None
        if self._ready():
            self._send(prompt)
        else:
            self.notify("no model could be loaded: the prompt was not sent", severity="error")

    def _send(self, prompt: str) -> None:
        from tailor.engine.api.chat import messages_for

        ready = self._ready()
        first = self.sides[ready[0]]
        self.last_prompt = (messages_for(self.system, first.history, prompt), prompt)
        for side in ready:
            self.busy.add(side)
            pane = self.panes[side]
            pane.turns.append(("user", prompt))
            pane.streaming, pane.note = "", ""
            self._ask(side, prompt)
        self._draw_all()

    @work(group="playground.ask", exit_on_error=False)
    async def _ask(self, side: str, prompt: str) -> None:
        chat = self.sides[side]

        def on_token(text: str) -> None:  # called on the engine thread
            self.post_message(self.Token(side, text))

        try:
            done = await self.tailor.bridge.run(chat.ask(self.system, prompt, self.settings, on_token))
        except Exception as exc:
            from tailor.engine.api.errors import one_line

            done = {"error": one_line(exc)}
        self.post_message(self.Answered(side, done))

    def on_playground_screen_token(self, message: PlaygroundScreen.Token) -> None:
        pane = self.panes[message.side]
        pane.streaming = (pane.streaming or "") + message.text
        self._draw(message.side)

    def on_playground_screen_answered(self, message: PlaygroundScreen.Answered) -> None:
        from tailor.engine.api.chat import latency_line

        pane, done = self.panes[message.side], message.done
        self.busy.discard(message.side)
        pane.streaming = None
        if "error" in done:
            pane.note = f"error: {done['error']}"
        else:
            pane.turns.append(("assistant", str(done.get("text", ""))))
            pane.latency = latency_line(done)
        self._draw(message.side)

    # -- drawing -------------------------------------------------------------------------------
    def _draw_all(self) -> None:
        if not self.is_mounted:
            return
        s = self.settings
        mode = "greedy" if s.temperature == 0 else f"T {s.temperature:g} · top_p {s.top_p:g}"
        system = self.system if len(self.system) < 30 else self.system[:29] + "…"
        header = Text.assemble(
            ("A ", "bold"), (self.labels.get("A") or self.targets["A"] or "–", ""), ("   B ", "bold"),
            (self.labels.get("B") or self.targets["B"] or "–", ""),
            (f"\n{mode} · max {s.max_new_tokens} tok · seed {s.seed} · system: {system or '–'}", "dim"),
        )
        self.query_one("#pg-header", Static).update(header)
        for side in SIDES:
            self._draw(side)

    def _draw(self, side: str) -> None:
        if not self.is_mounted:
            return
        pane = self.panes[side]
        out = Text()
        if self.targets[side] is None:
            out.append(f"Side {side} is empty: press esc, then {side.lower()} to pick a model.", style="dim")
        for role, text in pane.turns:
            out.append("you: " if role == "user" else "› ", style="bold" if role == "user" else "bold green")
            out.append(text + "\n")
        if pane.streaming is not None:
            out.append("› ", style="bold green")
            out.append(pane.streaming + "▌\n")
        for line in (pane.latency, pane.note):
            if line:
                out.append(line + "\n", style="dim")
        scroll = self.query_one(f"#pg-pane-{side}", VerticalScroll)
        scroll.border_title = f"{side} · {self.labels.get(side) or self.targets[side] or 'empty'}"
        self.query_one(f"#pg-text-{side}", Static).update(out)
        scroll.scroll_end(animate=False)

    # -- actions -------------------------------------------------------------------------------
    def action_pick(self, side: str) -> None:
        from tailor.tui.screens.playground_dialogs import PickModel


        def picked(target: str | None) -> None:
            if target is not None:
                self.choose(side, target)

        self.app.push_screen(PickModel(side, self.choices, self.targets[side]), picked)

    def action_settings(self) -> None:
        from tailor.tui.screens.playground_dialogs import EditSettings

        def edited(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            from tailor.engine.api.chat import ChatSettings

            self.system = str(values.pop("system"))
            self.settings = ChatSettings.from_json(values)
            self._draw_all()

        self.app.push_screen(EditSettings({"system": self.system, **self.settings.to_json()}), edited)

    def action_new(self) -> None:
        for side in SIDES:
            if side in self.sides:
                self.sides[side].reset()
            self.panes[side] = Pane()
        self.last_prompt = self.pending = None
        self._draw_all()
        self.notify("new conversation")

    def action_save(self) -> None:
        from tailor.tui.screens.playground_dialogs import SaveExample

        answered = {s: p for s, p in self.panes.items() if p.turns and p.turns[-1][0] == "assistant"}
        if self.last_prompt is None or not answered or self.busy:
            self.notify("nothing to save yet: ask something first (i to type a prompt)", severity="warning")
            return

        answers = [(s, self.labels.get(s, s), p.turns[-1][1]) for s, p in sorted(answered.items())]

        def chosen(picked: tuple[str, str, str] | None) -> None:
            if picked:
                self.save_to(*picked)

        self.app.push_screen(SaveExample(self.save_path, answers), chosen)

    def save_to(self, path: str, reference: str, text: str) -> None:
        """Append the last prompt, every side's answer and ``text`` (from ``reference``'s answer) to ``path``."""
        from tailor.engine.api.chat import append_example
        from tailor.engine.api.errors import TailorError

        assert self.last_prompt is not None
        messages, _prompt = self.last_prompt
        answers = {self.labels.get(s, s): p.turns[-1][1] for s, p in self.panes.items()
                   if p.turns and p.turns[-1][0] == "assistant"}
        file = path if path.startswith(("/", "~")) else str(self.tailor.workspace.root / "data" / path)
        try:
            saved = append_example(file, messages, answers, reference, text)
        except TailorError as exc:
            self.notify(str(exc), severity="error")
            return
        self.save_path = path
        edited = "" if text == answers.get(reference) else ", edited"
        self.notify(f"saved to {saved} (reference: {reference}'s answer{edited})")

    def action_prompt(self) -> None:
        self.query_one("#pg-prompt", Input).focus()

    def _pane(self) -> VerticalScroll:
        focused = self.focused
        if isinstance(focused, VerticalScroll):
            return focused
        return self.query_one("#pg-pane-A", VerticalScroll)

    def action_scroll(self, lines: int) -> None:
        self._pane().scroll_relative(y=lines, animate=False)

    def action_edge(self, end: int) -> None:
        pane = self._pane()
        pane.scroll_end(animate=False) if end else pane.scroll_home(animate=False)

    def action_leave(self) -> None:
        prompt = self.query_one("#pg-prompt", Input)
        if prompt.has_focus:
            self.query_one("#pg-pane-A", VerticalScroll).focus()  # keys now act on the screen
        else:
            self.tailor.action_back()

    async def on_unmount(self) -> None:
        for side in list(self.sides.values()):
            with contextlib.suppress(Exception):  # closing must never block leaving
                await self.tailor.bridge.run(side.close())
