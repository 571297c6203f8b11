"""Push an exported folder (adapter, merged model or GGUF, with its README.md model card) to the Hub.

``check_online`` runs before any export work, so an offline machine fails at once with one line. The
token comes from the environment (``HF_TOKEN``) or ``huggingface-cli login``; never from a recipe.
"""

from __future__ import annotations

import os
from pathlib import Path

from tailor.engine.exporters.gguf import ExportError


def check_online(repo: str) -> None:
    from huggingface_hub import constants

    if "/" not in repo or repo.count("/") != 1:
        raise ExportError(f"--push-to-hub {repo!r}: name the repository as OWNER/NAME")
    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE"):
        raise ExportError(f"--push-to-hub {repo}: the Hub is offline here (HF_HUB_OFFLINE=1); unset it or export locally and push later")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    try:
        HfApi().whoami()
    except HfHubHTTPError as exc:
        raise ExportError(f"--push-to-hub {repo}: the Hub refused the token ({exc.response.status_code if exc.response is not None else exc}); set HF_TOKEN or run `hf auth login`") from None
    except Exception as exc:  # no network, DNS, proxy...
        kind = "no token" if "token" in str(exc).lower() else "the Hub cannot be reached"
        raise ExportError(f"--push-to-hub {repo}: {kind} ({type(exc).__name__}); set HF_TOKEN / check the network, or export locally and push later") from None


def push(folder: Path, repo: str, *, private: bool) -> str:
    """Create the repository (if needed) and upload ``folder``; the repository's URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    url = api.create_repo(repo, private=private, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo, commit_message="Upload from Tailor")
    return str(url)
