"""A preference run's detail shows reward accuracy, margin and the run it was chained from."""

from __future__ import annotations

from tui_helpers import make_app, wait_runs_loaded, wait_until, write_run


async def test_dpo_detail_shows_rewards_and_lineage(workspace):
    run = write_run(workspace, "demo-dpo-20260101-000000-abcd", kind="dpo", steps=10, total=10)
    status = run.read_status()
    status.latest.update({"rewards/accuracies": 0.875, "rewards/margins": 0.42})
    status.links["from_run"] = "demo-sft-20251231-230000-0000"
    run.write_status(status)
    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_runs_loaded(pilot, 1)
        stats = screen.detail.query_one("#detail-stats")
        text = await wait_until(pilot, lambda: "acc" in str(stats.render()) and str(stats.render()))
        assert "acc 0.875" in text and "margin 0.42" in text
        assert "from demo-sft-20251231-230000-0000" in text
