"""A GRPO run's detail: reward curves per function, KL and lengths in the stats, sampled answers in the log."""

from __future__ import annotations

import re

from tui_helpers import T0, make_app, wait_runs_loaded, wait_until, write_run

from tailor.tui.widgets.curves import Curves


async def test_grpo_detail_shows_reward_curves_stats_and_samples(workspace):
    run = write_run(workspace, "demo-grpo-20260101-000000-abcd", kind="grpo", steps=0, total=10, eval_every=0)
    values = {"loss": 0.0, "reward": 0.5, "reward_std": 0.25, "rewards/exact_match/mean": 0.5,
              "rewards/exact_match/std": 0.25, "kl": 0.0125, "completions/mean_length": 5.0,
              "completions/clipped_ratio": 0.125}
    with run.event_writer() as events:
        for step in (5, 10):
            events.emit("metric", step=step, split="train", values={**values, "reward": step / 20}, time=T0 + step)
        events.emit("samples", step=10, time=T0 + 11, rows=[
            {"prompt": "Reverse: abcd", "completion": "dcba", "rewards": {"exact_match": 1.0}, "advantage": 0.75}])
    status = run.read_status()
    status.latest.update({**values, "reward": 0.5})
    run.write_status(status)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_runs_loaded(pilot, 1)
        stats = screen.detail.query_one("#detail-stats")
        text = await wait_until(pilot, lambda: "reward" in str(stats.render()) and str(stats.render()))
        assert "reward 0.5 · ± 0.25 · kl 0.0125 · len 5 · clipped 0.125" in text
        curves = screen.detail.query_one(Curves)
        legend = await wait_until(pilot, lambda: "exact_match" in str(curves.border_title) and re.sub(r"\[[^\]]*\]", "", str(curves.border_title)))
        assert legend.split() == ["Reward", "━━", "reward", "━━", "exact_match"]
        log = screen.detail.log_pane
        lines = await wait_until(pilot, lambda: [ln for ln in log.lines if "->" in ln])
        assert lines[0].strip() == "'Reverse: abcd' -> 'dcba'  exact_match=1 · adv 0.75"
