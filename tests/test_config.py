from __future__ import annotations

from pathlib import Path

import pytest

from lean_prover.data.errors import LeanProverError
from lean_prover.prover.cli.config import Config, ConfigError, load_config, preset_file, preset_names, to_toml


def test_defaults_come_from_the_dataclasses() -> None:
    config = load_config()
    assert config == Config()
    assert config.data.download is True and config.lean.workspace.name == "lean-workspace"


def test_toml_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('[data]\nskip_bad = true\ndata_dir = "~/bench"\n[log]\nlevel = "debug"\n', encoding="utf-8")
    config = load_config(path, ["data.skip_bad=false", "lean.workspace=/opt/ws"])
    assert config.data.skip_bad is False  # the flag wins over the file
    assert config.data.data_dir == Path("~/bench").expanduser()
    assert config.log.level == "DEBUG"
    assert config.lean.workspace == Path("/opt/ws")


def test_yaml(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("data:\n  download: false\nstore:\n  path: /tmp/p.sqlite\n", encoding="utf-8")
    config = load_config(path)
    assert config.data.download is False and config.store.path == Path("/tmp/p.sqlite")


def test_shown_config_loads_back_unchanged(tmp_path: Path) -> None:
    original = load_config(None, ["data.data_dir=/x/y", "log.level=ERROR"])
    path = tmp_path / "shown.toml"
    path.write_text(to_toml(original), encoding="utf-8")
    assert load_config(path) == original


@pytest.mark.parametrize(
    "file_text, overrides, message",
    [
        ("", ["data.nope=1"], "unknown setting data.nope"),
        ("", ["nosection.x=1"], r"unknown config section \[nosection\]; the sections: preset, log, data, "),
        ("", ["data.skip_bad=maybe"], "data.skip_bad = 'maybe' is not valid"),
        ("", ["log.level=LOUD"], "log.level 'LOUD' is not one of"),
        ("[rl]\nverifiers = 4\n", [], "rl.verifiers is now ray.verifiers"),
        ("", ["ray.workers=0"], "ray.workers = 0: must be at least 1"),
        ("", ["search.samples=-4"], "search.samples = -4: must be at least 1"),
        ("", ["search.samples=0"], "search.samples = 0: must be at least 1"),
        ("[search]\nconcurrency = -1\n", [], "search.concurrency = -1: must be at least 1"),
        ("", ["search.tokens=-1"], "search.tokens = -1: must be at least 0"),
        ("", ["search.gamma=1.5"], r"search.gamma = 1.5: must be in \(0, 1\]"),
        ("", ["lean.certify=sometimes"], "lean.certify = 'sometimes': must be one of final, always, never"),
        ("", ["policy.top_p=2"], r"policy.top_p = 2.0: must be in \(0, 1\]"),
        ("", ["policy.max_new_tokens=0"], "policy.max_new_tokens = 0: must be at least 1"),
        ("[policy]\ntemperature = -0.5\n", [], "policy.temperature = -0.5: must be 0 or more"),
        ("", ["policy.dtype=fp8"], "policy.dtype = 'fp8': must be one of auto, float32, bfloat16, float16"),
        ("", ["policy.device=gpu"], "policy.device = 'gpu': must be auto, cpu, cuda or cuda:N"),
        ("", ["skip_bad=true"], "write SECTION.FIELD=VALUE"),
        ("[data\n", [], "not valid TOML"),
        ("data = 3\n", [], r"\[data\] must be a section"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, file_text: str, overrides: list[str], message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(file_text, encoding="utf-8")
    with pytest.raises(LeanProverError, match=message):  # the CLI prints it in one line
        load_config(path, overrides)


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must end in .toml, .yaml or .yml"):
        (tmp_path / "c.ini").write_text("")
        load_config(tmp_path / "c.ini")
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")


def test_log_level_reaches_every_module_logger(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from lean_prover.prover.cli.config import configure_logging
    from lean_prover.search import rmaxts

    configure_logging("INFO")
    logging.getLogger(rmaxts.__name__).info("resuming RMaxTS")
    assert "INFO lean_prover.search.rmaxts: resuming RMaxTS" in capsys.readouterr().err
    configure_logging("WARNING")
    logging.getLogger(rmaxts.__name__).info("not shown")
    assert "not shown" not in capsys.readouterr().err


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_and_validates(name: str) -> None:
    config = load_config(preset=name)
    assert config.preset.name == name and load_config(preset_file(name)).preset.name == name
    assert to_toml(load_config(preset=name)) == to_toml(config)


def test_a_preset_is_the_base_and_the_file_and_flags_go_over_it(tmp_path: Path) -> None:
    assert set(preset_names()) >= {"deepseek-v1.5-sample", "deepseek-v1.5-rmaxts", "deepseek-v2-decompose", "laptop-smollm2"}
    path = tmp_path / "mine.toml"
    path.write_text('[preset]\nname = "deepseek-v1.5-rmaxts"\n[search]\nsamples = 100\n', encoding="utf-8")
    config = load_config(path, ["search.concurrency=4"])
    assert (config.search.algorithm, config.search.samples, config.search.concurrency) == ("rmaxts", 100, 4)
    assert config.policy.model == "deepseek-ai/DeepSeek-Prover-V1.5-RL" and config.lean == load_config().lean
    assert load_config(None, [], "laptop-smollm2").policy.model == "smollm2"
    with pytest.raises(LeanProverError, match="unknown preset 'v9'; choose one of"):
        load_config(preset="v9")
