"""Where the fit estimate finds a model's config.json, and why not when it cannot.

In order: a local folder (or a GGUF file's converted folder), the built-in ``tailor/tiny``, the Hugging
Face cache (what the worker will load), and, asked separately by ``tailor.engine.memory_estimate`` after its table
of known architectures, the hub itself: ``config.json`` only (a few KB, kept in the Hugging Face cache as the
hub client keeps every download, so the next estimate and the worker find it there).

The hub is the hub client's: ``HF_ENDPOINT``, ``HF_HUB_CACHE``/``HF_HOME`` and the token (``HF_TOKEN`` or
``hf auth login``) as ``huggingface_hub`` reads them; ``HF_HUB_OFFLINE`` means it is not asked. It is asked
at most once per process and model (a failure again after ``RETRY_AFTER_S``), and an answer is waited for
``HUB_TIMEOUT_S`` at most: the launch form and a launch never hang on it (``hf_hub_download`` alone retries
a dead endpoint for ~25 s, so one HEAD without retries goes first, and the whole fetch runs in a daemon
thread that is given up on, not waited for). Light: huggingface_hub only, no torch/transformers.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HUB_TIMEOUT_S = 5.0
RETRY_AFTER_S = 60.0  # a failed fetch is remembered this long: the form re-estimates on every key press


@dataclass(frozen=True)
class FoundConfig:
    """A config.json (None: not found) and where it came from, or why it was not found."""

    config: dict[str, Any] | None
    source: str  # "the Hugging Face cache (PATH)", "the hub (ORG/NAME)", ... or the reason it is missing


def local_config(name: str, revision: str | None = None, gguf_file: str | None = None) -> FoundConfig:
    """config.json from a local folder, a GGUF file's converted folder, the built-in tiny model or the
    Hugging Face cache; never the network."""
    path = Path(name).expanduser()
    if path.is_file() or gguf_file:  # a GGUF file: its converted folder, once a run has converted it
        from tailor.engine.models.gguf import converted_dir

        path = converted_dir((path / gguf_file if gguf_file else path).resolve())
    if name == "tailor/tiny":
        try:  # the built-in tiny model, once the models module has built it
            from tailor.engine.models import tiny

            path = Path(tiny.tiny_model_path())
        except Exception:  # not built yet: its architecture is known without building it
            from tailor.engine.models.tiny import ARCH  # stdlib-only module
            from tailor.engine.trainable_params import tiny_vocab_size

            return FoundConfig({"model_type": "llama", **ARCH, "vocab_size": tiny_vocab_size()},
                               "tailor/tiny (not built yet)")
    if (path / "config.json").is_file():
        return FoundConfig(json.loads((path / "config.json").read_text()), str(path / "config.json"))
    if not _hub_id(name):
        return FoundConfig(None, f"no config.json in {name}")
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "config.json", revision=revision)
    except Exception as exc:  # a malformed id, an unreadable cache
        return FoundConfig(None, f"the Hugging Face cache could not be read ({type(exc).__name__})")
    if isinstance(cached, str):
        return FoundConfig(json.loads(Path(cached).read_text()), f"the Hugging Face cache ({cached})")
    return FoundConfig(None, "not in the Hugging Face cache")


_fetched: dict[tuple[str, str | None], tuple[float, FoundConfig]] = {}  # per process: (when, result)
_fetching: dict[tuple[str, str | None], threading.Thread] = {}
_lock = threading.Lock()


def hub_config(name: str, revision: str | None = None) -> FoundConfig:
    """config.json from the hub within HUB_TIMEOUT_S, remembered per process; or why not."""
    if not _hub_id(name):
        return FoundConfig(None, "not a hub id")
    if offline():
        return FoundConfig(None, "offline (HF_HUB_OFFLINE)")
    key = (name, revision)
    with _lock:
        hit = _fetched.get(key)
        if hit is not None and (hit[1].config is not None or time.monotonic() - hit[0] < RETRY_AFTER_S):
            return hit[1]
        thread = _fetching.get(key)
        if thread is None or not thread.is_alive():  # a fetch already under way is waited for, not repeated
            thread = threading.Thread(target=_fetch, args=(key,), name="tailor.hub-config", daemon=True)
            _fetching[key] = thread
            thread.start()
    thread.join(HUB_TIMEOUT_S)
    with _lock:
        hit = _fetched.get(key)
    if hit is not None and not thread.is_alive():
        return hit[1]
    # still running: its answer, when it comes, is remembered for the next estimate
    return FoundConfig(None, f"hub unreachable (no answer in {HUB_TIMEOUT_S:.0f} s)")


def offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) as set now, or as the hub client read it at import."""
    env = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").lower()
    if env in ("1", "true", "yes", "on"):
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _fetch(key: tuple[str, str | None]) -> None:
    found = _download(*key)
    with _lock:
        _fetched[key] = (time.monotonic(), found)


def _download(name: str, revision: str | None) -> FoundConfig:
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import (
        GatedRepoError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        # one HEAD without retries: an unreachable hub fails here at once (hf_hub_download would retry)
        get_hf_file_metadata(hf_hub_url(name, "config.json", revision=revision), timeout=HUB_TIMEOUT_S)
        path = hf_hub_download(name, "config.json", revision=revision, etag_timeout=HUB_TIMEOUT_S)
        return FoundConfig(json.loads(Path(path).read_text()), f"the hub ({name}, now in the Hugging Face cache)")
    except GatedRepoError:
        return FoundConfig(None, "gated on the hub (log in or set HF_TOKEN)")
    except RepositoryNotFoundError:
        return FoundConfig(None, "not on the hub (or private: log in or set HF_TOKEN)")
    except RevisionNotFoundError:
        return FoundConfig(None, f"revision {revision!r} not on the hub")
    except RemoteEntryNotFoundError:
        return FoundConfig(None, "no config.json on the hub")
    except OfflineModeIsEnabled:
        return FoundConfig(None, "offline (HF_HUB_OFFLINE)")
    except Exception as exc:  # connection refused, DNS, timeout, proxy, a bad JSON file
        return FoundConfig(None, f"hub unreachable ({type(exc).__name__})")


def _hub_id(name: str) -> bool:
    from tailor.engine.recipes.load import looks_like_hub_id

    return looks_like_hub_id(name)
