"""The whole configuration: one typed section per component, from a file and `--set` flags.

Each section is a dataclass owned by its package; its field defaults are the only place a
default is written. A TOML or YAML file sets any fields (`[data]\ncache_dir = "..."`), and
`--set data.cache_dir=...` on the command line overrides file and defaults alike.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from lean_prover.data.config import DataConfig, StoreConfig
from lean_prover.eval.config import CostConfig, EvalConfig
from lean_prover.lean_env.config import LeanConfig, RayConfig, ServeConfig
from lean_prover.prover.errors import ProverError
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.prover.training.config import RLConfig, SFTConfig
from lean_prover.search.config import SearchConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MOVED = {
    "eval.ray_workers": "ray.workers",
    "eval.ray_cpus_per_worker": "ray.cpus_per_worker",
    "eval.ray_gpus_per_worker": "ray.gpus_per_worker",
    "eval.ray_verifiers": "ray.verifiers",
    "eval.ray_cpus_per_verifier": "ray.cpus_per_verifier",
    "rl.verifiers": "ray.verifiers",
    "rl.cpus_per_verifier": "ray.cpus_per_verifier",
    "rl.ray_address": "ray.address",
    "rl.trainer_on_ray": "ray.trainer_on_ray",
    "rl.trainer_gpus": "ray.trainer_gpus",
    "rl.trainer_cpus": "ray.trainer_cpus",
}
"""Settings of earlier versions, and where they are now."""


class ConfigError(ProverError):
    """A config file or `--set` flag that cannot be used; the message says which and why."""


@dataclass
class LogConfig:
    level: str = field(default="INFO", metadata={"help": f"Log level: one of {', '.join(LOG_LEVELS)}."})

    def __post_init__(self) -> None:
        self.level = self.level.upper()
        if self.level not in LOG_LEVELS:
            raise ConfigError(f"log.level {self.level!r} is not one of {', '.join(LOG_LEVELS)}")


PRESETS = Path(__file__).resolve().parent.parent / "presets"
"""Reviewed config files of published setups, shipped with the package (`prover/presets/`)."""


@dataclass
class PresetConfig:
    name: str = field(
        default="", metadata={"help": "A published setup to start from (`prover config presets`); your settings go over it."}
    )
    anchor: str = field(default="", metadata={"help": "The published result a run of this preset compares with (`prover report`)."})


def preset_names() -> list[str]:
    return sorted(path.stem for path in PRESETS.glob("*.toml"))


def preset_file(name: str) -> Path:
    path = PRESETS / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(preset_names())}")
    return path


@dataclass
class Config:
    preset: PresetConfig = field(default_factory=PresetConfig)
    log: LogConfig = field(default_factory=LogConfig)
    data: DataConfig = field(default_factory=DataConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    lean: LeanConfig = field(default_factory=LeanConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)


def load_config(path: Path | None = None, overrides: list[str] | None = None, preset: str | None = None) -> Config:
    """Defaults, then a preset (`preset`, or the file's `[preset] name`), then the file at
    `path`, then each `section.field=value` override."""
    values: dict[str, Any] = _read_file(path) if path is not None else {}
    where = str(path) if path is not None else "config"
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table of sections such as [data]")
    for override in overrides or []:
        key, separator, raw = override.partition("=")
        section, dot, name = key.strip().partition(".")
        if not separator or not dot:
            raise ConfigError(f"--set {override!r}: write SECTION.FIELD=VALUE, e.g. data.skip_bad=true")
        values.setdefault(section, {})[name] = raw
    named = values.get("preset")
    chosen = preset or (named.get("name") if isinstance(named, dict) else None)
    if chosen:
        base = _read_file(preset_file(str(chosen)))
        for section, settings in values.items():
            if isinstance(settings, dict) and isinstance(base.get(section), dict):
                base[section] = {**base[section], **settings}
            else:
                base[section] = settings
        base.setdefault("preset", {})["name"] = str(chosen)
        values = base
    return _build(Config, values, where)


def _read_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise ConfigError(f"{path}: no such config file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the config file ({error})") from error
    try:
        if path.suffix in (".yaml", ".yml"):
            return yaml.safe_load(text) or {}
        if path.suffix == ".toml":
            return tomllib.loads(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as error:
        first_line = str(error).splitlines()[0]
        raise ConfigError(f"{path}: not valid {path.suffix[1:].upper()} ({first_line})") from error
    raise ConfigError(f"{path}: a config file must end in .toml, .yaml or .yml")


T = typing.TypeVar("T")


def _build(cls: type[T], values: dict[str, Any], where: str, prefix: str = "") -> T:
    """Make a `cls` from nested `values`, converting and checking each field by its type."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown and f"{prefix}{unknown[0]}" in MOVED:
        raise ConfigError(f"{where}: {prefix}{unknown[0]} is now {MOVED[prefix + unknown[0]]} (one [ray] section for every command)")
    if unknown and not prefix:
        sections = [name for name in fields if dataclasses.is_dataclass(hints[name])]
        raise ConfigError(f"{where}: unknown config section [{unknown[0]}]; the sections: {', '.join(sections)}")
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting {prefix}{unknown[0]}; known in this section: {', '.join(fields)}"
        )
    arguments: dict[str, Any] = {}
    for name, value in values.items():
        kind = hints[name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{prefix}{name}] must be a section of settings")
            arguments[name] = _build(kind, value, where, prefix=f"{prefix}{name}.")
        else:
            arguments[name] = _convert(value, kind, f"{prefix}{name}", where)
    return cls(**arguments)


def _convert(value: Any, kind: Any, key: str, where: str) -> Any:
    optional = typing.get_origin(kind) in (Union, types.UnionType) and type(None) in typing.get_args(kind)
    if optional:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
            return None
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    try:
        if kind is bool:
            return _to_bool(value)
        if kind in (int, float):
            if isinstance(value, bool):
                raise ValueError("a number, not true/false")
            return kind(value)
        if kind is Path:
            return Path(value).expanduser()
        if kind is str or _is_word_choice(kind):  # a choice's own check names its words (__post_init__)
            if not isinstance(value, (str, int, float)):
                raise ValueError("a string")
            return str(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {key} = {value!r} is not valid ({error})") from error
    raise ConfigError(f"{where}: {key} has a type this loader cannot read ({kind})")


def _is_word_choice(kind: Any) -> bool:
    return typing.get_origin(kind) is typing.Literal and all(isinstance(a, str) for a in typing.get_args(kind))


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected true or false")


def to_toml(config: Config) -> str:
    """The config as a TOML file, each field with its help text; unset fields commented out."""
    lines: list[str] = []
    for section in dataclasses.fields(config):
        lines.append(f"[{section.name}]")
        part = getattr(config, section.name)
        for item in dataclasses.fields(part):
            help_text = item.metadata.get("help")
            if help_text:
                lines.append(f"# {help_text}")
            value = getattr(part, item.name)
            if value is None:
                lines.append(f"# {item.name} =")
            elif isinstance(value, bool):
                lines.append(f"{item.name} = {'true' if value else 'false'}")
            elif isinstance(value, (int, float)):
                lines.append(f"{item.name} = {value}")
            else:
                escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
                lines.append(f'{item.name} = "{escaped}"')
        lines.append("")
    return "\n".join(lines)


ROOT_LOGGER = "lean_prover"
"""Every module logs under its import name (`lean_prover.search.rmaxts`), below this one."""


def configure_logging(level: str) -> None:
    """One stderr handler for all of our loggers, at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logger = logging.getLogger(ROOT_LOGGER)
    logger.setLevel(level)
    logger.handlers = [handler]
    logger.propagate = False
