"""The Slurm pieces that need no cluster: the batch script (single and multi-node), host settings merged
with a recipe's ``resources:``, Slurm's output formats, and the ``type: slurm`` host entry."""

from __future__ import annotations

import pytest
import yaml

from tailor.engine.errors import HostError
from tailor.engine.executors.registry import executor_class
from tailor.engine.executors.slurm import SlurmExecutor
from tailor.engine.remote.hosts import get_host
from tailor.engine.remote.slurm import batch_script, merged_spec, parse_sacct, parse_scontrol
from tailor.engine.runs.format import state_label
from tailor.engine.runs.status import RunState, Status

# ``scontrol show job`` of a job killed at its time limit (Slurm 22.05, trimmed).
SCONTROL_TIMEOUT = """JobId=7 JobName=tailor-x
   UserId=root(0) GroupId=root(0) MCS_label=N/A
   JobState=TIMEOUT Reason=TimeLimit Dependency=(null)
   RunTime=00:01:23 TimeLimit=00:01:00 TimeMin=N/A
"""


def write_recipe(tmp_path, resources):
    run = tmp_path / "run-1"
    run.mkdir()
    (run / "recipe.yaml").write_text(yaml.safe_dump({"kind": "sft", "resources": resources}))
    return run


def test_single_node_script_has_the_settings_and_execs_the_worker(tmp_path) -> None:
    run = write_recipe(tmp_path, {"gpus": 1, "time": "02:00:00", "sbatch": ["--constraint=a100"]})
    spec = merged_spec({"partition": "gpu", "account": "lab x", "time": "10", "gpus_per_node": 2,
                        "sbatch": ["--mail-type=END"]}, run)
    assert spec["time"] == "02:00:00"  # the recipe wins
    assert spec["sbatch"] == ["--mail-type=END", "--constraint=a100"]
    script = batch_script(run, spec, python="/opt/venv/bin/python", resume=True)
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    for want in ("#SBATCH --partition=gpu", "#SBATCH --account='lab x'", "#SBATCH --time=02:00:00",
                 "#SBATCH --gpus-per-node=2", "#SBATCH --nodes=1", "#SBATCH --mail-type=END",
                 "#SBATCH --constraint=a100", "#SBATCH --open-mode=append"):
        assert want in lines, want
    # two GPUs on one node: the worker under accelerate launch, resuming
    assert lines[-1].startswith("exec /opt/venv/bin/python -m accelerate.commands.launch")
    assert "--num_processes=2" in lines[-1] and lines[-1].endswith(f"{run} --resume")


def test_laptop_gpus_are_not_a_slurm_request(tmp_path) -> None:
    run = write_recipe(tmp_path, {"gpus": 1})
    script = batch_script(run, merged_spec({}, run), python="python3", resume=False)
    assert "--gpus-per-node" not in script
    assert script.splitlines()[-1] == f"exec python3 -m tailor.engine.worker {run}"


def test_multi_node_script_runs_one_torchrun_per_node_with_rendezvous_on_the_first(tmp_path) -> None:
    run = write_recipe(tmp_path, {"nodes": 2, "gpus_per_node": 4})
    script = batch_script(run, merged_spec({}, run), python="python3", resume=False)
    assert "#SBATCH --nodes=2" in script and "#SBATCH --ntasks=2" in script
    assert 'head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)' in script
    last = script.splitlines()[-1]
    assert last.startswith("exec srun --kill-on-bad-exit=1 --ntasks=2 python3 -m torch.distributed.run")
    for part in ("--nnodes=2", "--nproc_per_node=4", "--rdzv_backend=c10d", '--rdzv_id="tailor-$SLURM_JOB_ID"',
                 '--rdzv_endpoint="$head:29500"', f"-m tailor.engine.worker {run}"):
        assert part in last, part


def test_an_sbatch_line_with_a_newline_is_refused(tmp_path) -> None:
    run = write_recipe(tmp_path, {})
    with pytest.raises(HostError):
        batch_script(run, {"sbatch": ["--x=1\nrm -rf /"]}, python="python3", resume=False)


def test_slurm_output_formats() -> None:
    assert parse_scontrol(SCONTROL_TIMEOUT) == {"state": "TIMEOUT", "reason": "TimeLimit"}
    assert parse_scontrol("slurm_load_jobs error: Invalid job id specified") is None
    # sacct on clusters with accounting (sacct -n -P -X -o State,Reason)
    assert parse_sacct("CANCELLED by 1234|None\n") == {"state": "CANCELLED", "reason": "None"}
    assert parse_sacct("PREEMPTED|None") == {"state": "PREEMPTED", "reason": "None"}
    assert parse_sacct("") is None


def test_state_label_names_the_scheduler_reason_while_waiting() -> None:
    status = Status(run_id="r", kind="sft", scheduler="PENDING: Resources")
    assert state_label(status) == "queued (PENDING: Resources)"
    assert state_label(status.model_copy(update={"state": RunState.FAILED})) == "failed"


def test_slurm_host_entry(workspace) -> None:
    workspace.config_file.write_text(yaml.safe_dump({"hosts": {
        "cluster": {"type": "slurm", "hostname": "login.example.edu",
                    "slurm": {"partition": "gpu", "time": "1-00:00", "sbatch": ["--constraint=a100"]}},
        "plain": {"hostname": "gpu1"},
    }}))
    host = get_host(workspace, "cluster")
    assert host.type == "slurm" and host.slurm.partition == "gpu"
    assert executor_class(host.type) is SlurmExecutor
    assert get_host(workspace, "plain").type == "ssh"  # the default stays ssh
    workspace.config_file.write_text(yaml.safe_dump({"hosts": {"cluster": {"type": "slurm",
                                                                           "slurm": {"partiton": "gpu"}}}}))
    with pytest.raises(HostError) as err:
        get_host(workspace, "cluster")
    assert "hosts.cluster.slurm.partiton" in str(err.value) and "\n" not in str(err.value)


def test_each_host_type_has_its_own_settings(workspace) -> None:
    """No Slurm field on an SSH host: a ``slurm:`` block there is refused in one line naming the fix."""
    from tailor.engine.remote.hosts import SSHHost
    from tailor.engine.remote.slurm_spec import SlurmHost

    assert "slurm" not in SSHHost.model_fields and "slurm" in SlurmHost.model_fields
    assert executor_class("ssh").host_settings is SSHHost and SlurmExecutor.host_settings is SlurmHost
    workspace.config_file.write_text(yaml.safe_dump({"hosts": {"box": {"hostname": "gpu1",
                                                                       "slurm": {"partition": "gpu"}}}}))
    with pytest.raises(HostError) as err:
        get_host(workspace, "box")
    text = str(err.value)
    assert "\n" not in text and "hosts.box.slurm" in text and "add `type: slurm`" in text, text
    # a slurm host written to workspace.yaml keeps its type and its block
    workspace.config_file.write_text(yaml.safe_dump({"hosts": {"hpc": {"type": "slurm", "slurm": {"qos": "x"}}}}))
    host = get_host(workspace, "hpc")
    assert isinstance(host, SlurmHost)
    assert host.to_yaml_dict() == {"type": "slurm", "slurm": {"qos": "x"}}


def test_the_host_side_control_is_the_types() -> None:
    from tailor.engine.control import Control
    from tailor.engine.executors.registry import control_class
    from tailor.engine.remote.slurm import SlurmControl

    assert control_class("ssh") is Control and control_class("slurm") is SlurmControl
    with pytest.raises(HostError) as err:
        control_class("pbs")
    assert "unknown host type 'pbs'" in str(err.value) and "TAILOR_PLUGINS" in str(err.value)


def test_hosts_add_a_slurm_host_from_the_cli(workspace) -> None:
    from click.testing import CliRunner

    from tailor.tui.cli import cli

    def run(*args: str):
        return CliRunner().invoke(cli, ["-w", str(workspace.root), "hosts", *args])

    added = run("add", "hpc", "--type", "slurm", "--hostname", "login.example.edu", "--slurm", "partition=gpu",
                "--slurm", "time=04:00:00", "--slurm", "sbatch=--constraint=a100", "--slurm", "gpus_per_node=2")
    assert added.exit_code == 0, added.output
    host = get_host(workspace, "hpc")
    assert host.type == "slurm" and host.slurm.partition == "gpu" and host.slurm.gpus_per_node == 2
    assert host.slurm.sbatch == ["--constraint=a100"]
    bad = run("add", "hpc2", "--type", "pbs")
    assert bad.exit_code == 2 and "unknown host type 'pbs'" in bad.output and bad.output.count("\n") == 1


def test_runs_of_plain_ssh_hosts_keep_the_queued_timeout(workspace) -> None:
    """A Slurm host's control judges a run that is not a Slurm job as ``Control`` does: only Slurm jobs may
    wait for ever."""
    import time

    from tailor.engine.remote.slurm import SlurmControl
    from tailor.engine.runs.rundir import RunDir

    old = Status(run_id="plain-1", kind="sft", created_at=time.time() - 3600)
    run = RunDir.create(workspace.runs_dir, "plain-1", "kind: sft\n", old)
    control = SlurmControl(workspace)
    assert control.effective(run).state == RunState.FAILED
    (run.path / "slurm.json").write_text('{"job": "999999", "host_spec": {}}')
    assert control._base(run).state == RunState.QUEUED  # a Slurm job: queued for as long as Slurm holds it
