"""The launch form's pickers: the host (local and every configured host, probed for reachability and free
GPU memory, labelled with whether this recipe fits there) and the run a chained recipe starts from.

A mixin of LaunchScreen (tui/screens/launch.py); host probes go through tailor.engine.api.hosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Select

from tailor.tui.context import AppAccess
from tailor.tui.screens.launch_checks import (
    GpuBudget,
    budget_of,
    chain_candidates,
    fit_check,
    host_label,
    local_gpu_budget,
    short_fit,
)

if TYPE_CHECKING:
    from tailor.tui.screens.launch_checks import FitEstimated, RecipeInfo

    class _Screen(AppAccess, ModalScreen[object]): ...
else:  # at run time the mixin adds methods (and the typed app) only; LaunchScreen brings the screen
    _Screen = AppAccess

NO_RUN = "-"  # the from_run picker's "the recipe's own" entry
#: from_run_mode beside the picker: merge folds the run's adapter into the base and trains a new one, stack
#: keeps training that adapter (docs/preference.md).
CHAIN_MODES = [("then merge", "merge"), ("then stack", "stack")]


class LaunchPickersMixin(_Screen):
    """Needs ``current``, ``fit``, ``budgets``, ``host_errors``, ``hosts`` and the fit/check hooks."""

    if TYPE_CHECKING:  # what LaunchScreen provides
        current: RecipeInfo | None
        fit: FitEstimated | None
        budgets: dict[str, GpuBudget]
        host_errors: dict[str, str]
        hosts: list[str]
        chain_runs: list[tuple[str, str]]

        def _show_fit(self, estimate: str | None = None) -> None: ...
        def _recheck(self) -> None: ...
        def refresh_fit(self) -> None: ...

    @dataclass
    class GpuBudgetFound(Message):
        """Free GPU memory of one launch target (``host``: "local" or an alias); ``error``: unreachable."""

        host: str
        budget: GpuBudget
        error: str = ""

    @dataclass
    class HostsListed(Message):
        hosts: list[str]

    @dataclass
    class RunsListed(Message):
        """(label, run id) of the runs a chained recipe may start from."""

        runs: list[tuple[str, str]]

    # -- hosts -----------------------------------------------------------------------------------
    @work(group="launch.hosts", exclusive=True, exit_on_error=False)
    async def list_hosts(self) -> None:
        from tailor.engine.api.hosts import list_hosts

        workspace = self.tailor.workspace
        rows = await self.tailor.bridge.call(lambda: list_hosts(workspace))
        self.post_message(self.HostsListed([r["name"] for r in rows]))

    def on_launch_pickers_mixin_hosts_listed(self, message: LaunchPickersMixin.HostsListed) -> None:
        self.hosts = ["local", *message.hosts]
        self._relabel_hosts()
        for name in message.hosts:
            self.probe_host(name)

    @work(group="launch.probe", exit_on_error=False)
    async def probe_host(self, name: str) -> None:
        from tailor.engine.api.hosts import probe_host

        workspace = self.tailor.workspace
        probe = await self.tailor.bridge.run(probe_host(workspace, name))
        self.post_message(self.GpuBudgetFound(name, budget_of(probe), "" if probe.reachable else probe.error or "?"))

    @work(thread=True, exclusive=True, group="launch.gpus", exit_on_error=False)
    def probe_local(self) -> None:
        self.post_message(self.GpuBudgetFound("local", local_gpu_budget()))

    def on_launch_pickers_mixin_gpu_budget_found(self, message: LaunchPickersMixin.GpuBudgetFound) -> None:
        if message.host in self.budgets and message.host == "local":
            return  # a budget set through set_gpu_budget wins over the probe
        self.budgets[message.host] = message.budget
        self.host_errors[message.host] = message.error
        self._relabel_hosts()
        if message.host == self.host:
            self._show_fit()

    @property
    def host(self) -> str:
        value = self.query_one("#launch-host", Select).value
        return value if isinstance(value, str) else "local"

    @property
    def budget(self) -> GpuBudget | None:
        return self.budgets.get(self.host)

    def set_gpu_budget(self, budget: GpuBudget, host: str = "local") -> None:
        """A launch target's free GPU memory (the probes call this; tests set a fixed one)."""
        self.budgets[host] = budget
        self._relabel_hosts()
        self._show_fit()

    def _relabel_hosts(self) -> None:
        """Each host with its reachability, free memory and (once estimated) whether this recipe fits."""
        select = self.query_one("#launch-host", Select)
        chosen = self.host
        options = []
        for name in self.hosts:
            budget = self.budgets.get(name)
            verdict = short_fit(*fit_check(self.fit, budget)) if budget is not None else ""
            options.append((host_label(name, budget, self.host_errors.get(name, ""), verdict), name))
        with select.prevent(Select.Changed):
            select.set_options(options)
            select.value = chosen if chosen in self.hosts else "local"

    @on(Select.Changed, "#launch-host")
    def _host_changed(self, event: Select.Changed) -> None:
        self._show_fit()
        self._recheck()

    @work(group="launch.runs", exclusive=True, exit_on_error=False)
    async def list_runs(self) -> None:
        workspace = self.tailor.workspace
        statuses = await self.tailor.engine(lambda ex: ex.list_runs())
        runs = await self.tailor.bridge.call(lambda: chain_candidates(workspace.runs_dir, statuses))
        self.post_message(self.RunsListed(runs))

    def on_launch_pickers_mixin_runs_listed(self, message: LaunchPickersMixin.RunsListed) -> None:
        self.chain_runs = message.runs
        self._fill_from_runs()

    def _fill_from_runs(self) -> None:
        """The picker's first entry says what "no override" means for this recipe (listed once)."""
        own = self.current.from_run if self.current is not None else None
        select = self.query_one("#launch-from_run", Select)
        chosen = select.value
        with select.prevent(Select.Changed):
            select.set_options([(f"the recipe's own: {own}" if own else "none: the base model", NO_RUN),
                                *self.chain_runs])
            select.value = chosen if any(v == chosen for _, v in select._options) else NO_RUN

    def _show_chain(self, shown: bool) -> None:
        self._fill_from_runs()
        mode = self.query_one("#launch-from_run_mode", Select)
        with mode.prevent(Select.Changed):
            mode.value = self.current.from_run_mode if self.current is not None else "merge"
        self.query_one("#launch-from_run-row").display = shown

    @on(Select.Changed, "#launch-from_run")
    @on(Select.Changed, "#launch-from_run_mode")
    def _from_run_changed(self, event: Select.Changed) -> None:
        self.refresh_fit()
        self._recheck()
