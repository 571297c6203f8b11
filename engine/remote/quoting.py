"""Every remote command line is built here, from an argv list, with each word quoted for a POSIX shell.

SSH hands the remote user's shell one string, so quoting is what stands between a run name such as
``x; rm -rf ~`` and the host. Nothing else in Tailor composes remote command strings.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

from tailor.engine.errors import HostError

ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Environment variables that are secrets: sent to the host on stdin only, never in argv or logs.
SECRET_ENV = (
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
    # experiment trackers (train.report_to)
    "WANDB_API_KEY", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD", "COMET_API_KEY",
    "NEPTUNE_API_TOKEN", "CLEARML_API_SECRET_KEY", "SWANLAB_API_KEY",
)


#: Values that look like credentials whatever their variable is called: known token formats (Hugging Face,
#: GitHub, GitLab, OpenAI-style ``sk-``, Slack, AWS access keys, Google OAuth, JWTs), a 40-hex API key
#: (Weights & Biases) and a URL carrying a password.
TOKEN_VALUE_RE = re.compile(
    r"\bhf_[A-Za-z0-9]{20,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_\w{20,}|\bglpat-[\w-]{20,}"
    r"|\bsk-[\w-]{20,}|\bxox[abprs]-[\w-]{10,}|\bAKIA[0-9A-Z]{16}\b|\bya29\.[\w-]{20,}"
    r"|\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}|^[0-9a-f]{40}$|://[^/\s:@]+:[^/\s@]+@"
)
#: Variable names that say they hold a secret (``DB_PASSWORD``, ``MY_API_KEY``, ``GITLAB_TOKEN``).
#: Whole words between underscores only: TOKENIZERS_PARALLELISM is no secret.
SECRET_NAME_RE = re.compile(
    r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|APIKEY|CREDENTIALS?)(_|$)|(^|_)(API|ACCESS|PRIVATE|SECRET)_KEY(_|$)", re.I
)


def secret_reason(key: str, value: str) -> str | None:
    """Why ``key=value`` must not sit in a host's ``env:`` (saved in clear, visible in ``ps`` on the host),
    or None. The reason never quotes the value."""
    if key in SECRET_ENV:
        return f"{key} is a secret"
    if value and SECRET_NAME_RE.search(key):
        return f"{key} is named like a secret"
    if TOKEN_VALUE_RE.search(value):
        return f"the value of {key} looks like a token or password"
    return None


def join(argv: Sequence[str]) -> str:
    """One shell-safe command line from an argv list."""
    if not argv:
        raise ValueError("empty command")
    return " ".join(shlex.quote(str(word)) for word in argv)


def with_env(argv: Sequence[str], env: Mapping[str, str] | None) -> list[str]:
    """``env K=V ... argv``: non-secret variables for a remote command (sshd drops most SSH env requests)."""
    if not env:
        return list(argv)
    pairs = []
    for key, value in env.items():
        if not ENV_NAME_RE.match(key):
            raise HostError(f"env: {key!r} is not a valid environment variable name")
        reason = secret_reason(key, str(value))
        if reason:
            raise HostError(
                f"env: {reason}; Tailor forwards secrets from your environment on stdin, do not set it here"
            )
        pairs.append(f"{key}={value}")
    return ["env", *pairs, *argv]


def secrets_from(environ: Mapping[str, str], names: Sequence[str] = ()) -> dict[str, str]:
    """The secrets to forward to a worker: the known ones plus any the host config names."""
    wanted = list(SECRET_ENV) + [n for n in names if n not in SECRET_ENV]
    return {name: environ[name] for name in wanted if environ.get(name)}


def redact(text: str, secrets: Mapping[str, str]) -> str:
    """``text`` with every secret value replaced, for anything that might be shown or logged."""
    for value in secrets.values():
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text
