"""A real single-node Slurm cluster for tests: munged, slurmctld and slurmd (Debian's slurm-wlm) started as
root in a temporary directory, with its own munge key and socket, ports on 127.0.0.1 and a node named after
``hostname -s``. Client commands find it through ``SLURM_CONF`` (``env``).

Process tracking by /proc (``proctrack/linuxproc``) and no task plugin: no cgroups needed, so it runs in an
unprivileged container as long as we are root there. Accounting is off (no slurmdbd); finished jobs stay in
``scontrol show job`` for ``MinJobAge`` seconds, which is where the executor reads Slurm's reasons.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

#: CPUs the node claims (config_overrides: more than the machine has, so a few small jobs run at once).
NODE_CPUS = 4
PARTITION = "debug"


def _missing() -> list[str]:
    return [b for b in ("munged", "slurmctld", "slurmd", "sbatch") if not shutil.which(b) and not Path(f"/usr/sbin/{b}").exists()]


def slurm_installed() -> bool:
    return not _missing()


def slurm_available() -> str | None:
    """None when a test cluster can start here, else why not (one line)."""
    missing = _missing()
    if missing:
        return f"Slurm missing ({', '.join(missing)}): run .ci/install-slurm.sh (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "the test Slurm cluster starts slurmd as root; run the Slurm tests as root (as CI does)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalSlurm:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.sock"
        self.procs: list[subprocess.Popen] = []

    @property
    def env(self) -> dict[str, str]:
        """What client commands (sbatch, squeue...) need to reach this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def setup(self) -> LocalSlurm:
        munge = self.root / "munge"
        for sub in ("munge", "state", "spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o755)  # munged refuses a socket dir others may write; jobs read slurm.conf
        subprocess.run(["/usr/sbin/mungekey", "-c", "-k", str(munge / "munge.key")], check=True,
                       capture_output=True)
        ctl_port, d_port = free_port(), free_port()
        r = self.root
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=tailortest",
                    f"SlurmctldHost={self.node}(127.0.0.1)",
                    f"SlurmctldPort={ctl_port}",
                    f"SlurmdPort={d_port}",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    f"StateSaveLocation={r}/state",
                    f"SlurmdSpoolDir={r}/spool",
                    f"SlurmctldPidFile={r}/slurmctld.pid",
                    f"SlurmdPidFile={r}/slurmd.pid",
                    f"SlurmctldLogFile={r}/slurmctld.log",
                    f"SlurmdLogFile={r}/slurmd.log",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core",
                    "SchedulerType=sched/backfill",
                    "SlurmdParameters=config_overrides",
                    "MpiDefault=none",
                    "ReturnToService=2",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "KillWait=5",  # seconds between a time limit's SIGTERM and its SIGKILL
                    "OverTimeLimit=0",
                    "MinJobAge=3600",  # finished jobs stay in `scontrol show job` (no accounting here)
                    "InactiveLimit=0",
                    "SchedulerParameters=sched_interval=1",
                    f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} RealMemory=4000 State=UNKNOWN",
                    f"PartitionName={PARTITION} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )
        return self

    def start(self, timeout: float = 60.0) -> LocalSlurm:
        m = self.root / "munge"
        self._run(["/usr/sbin/munged", "--force", f"--socket={self.munge_socket}", f"--key-file={m}/munge.key",
                   f"--pid-file={m}/munged.pid", f"--log-file={m}/munged.log", f"--seed-file={m}/munged.seed"])
        env = {**os.environ, **self.env}
        self._spawn(["/usr/sbin/slurmctld", "-D", "-i", "-f", str(self.conf)], env)
        self._spawn(["/usr/sbin/slurmd", "-D", "-f", str(self.conf), "-N", self.node], env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=env)
            if out.returncode == 0 and out.stdout.strip() in ("idle", "mixed", "allocated"):
                return self
            time.sleep(0.5)
        raise RuntimeError(f"Slurm did not come up in {timeout:.0f}s: {self.logs()}")

    def logs(self) -> str:
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "munge/munged.log"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:]))
        return "\n".join(parts)

    def command(self, *argv: str) -> str:
        """Run a Slurm client command against this cluster; its stdout."""
        out = subprocess.run(list(argv), capture_output=True, text=True, env={**os.environ, **self.env},
                             timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {out.stderr.strip()}")
        return out.stdout

    def final_state(self, job: str, timeout: float = 60.0) -> str:
        """A job's JobState once it has left PENDING/RUNNING/COMPLETING (the worker reports its end a
        moment before Slurm ends the job)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.command("scontrol", "show", "job", job).split("JobState=")[1].split()[0]
            if state not in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING") or time.monotonic() > deadline:
                return state
            time.sleep(0.5)

    def cancel(self, job: str) -> None:
        """scancel, quietly (the job may be gone already)."""
        subprocess.run(["scancel", job], env={**os.environ, **self.env}, capture_output=True, timeout=60)

    def _run(self, argv: list[str]) -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=30)

    def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.root / f"{Path(argv[0]).name}.out", "ab")  # noqa: SIM115 - owned by the process
        self.procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=log, start_new_session=True))

    def stop(self) -> None:
        for job in self.command("squeue", "-h", "-o", "%i").split() if self.procs else []:
            subprocess.run(["scancel", job], env={**os.environ, **self.env}, capture_output=True)
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        pid_file = self.root / "munge" / "munged.pid"
        if pid_file.exists():
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text().strip()), 15)
