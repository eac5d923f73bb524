from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Callable

import pytest

from lean_prover.data import datasets
from lean_prover.data.config import DataConfig
from lean_prover.data.datasets import DatasetSpec, load_problem, load_problems
from lean_prover.data.errors import DataError
from lean_prover.data.jsonl import load_jsonl


@pytest.mark.parametrize("name, splits", [("minif2f", {"valid": 244, "test": 244}), ("proofnet", {"valid": 185, "test": 186})])
def test_benchmark_counts_per_split(data_config: DataConfig, name: str, splits: dict[str, int]) -> None:
    problems = load_problems(name, data_config)
    assert Counter(p.split for p in problems) == splits
    for split, count in splits.items():
        assert len(load_problems(name, data_config, split=split)) == count


@pytest.mark.parametrize("name", ["minif2f", "proofnet", "minif2f-few-shot"])
def test_fields_are_byte_identical_to_the_source(data_config: DataConfig, shared_data: Path, name: str) -> None:
    lines = (shared_data / datasets.DATASETS[name].filename).read_bytes().splitlines()
    problems = load_problems(name, data_config)
    assert len(problems) == len(lines)
    for problem, line in zip(problems, lines):
        record = json.loads(line)
        for field in ("name", "formal_statement", "header", "informal_prefix", "goal", "split"):
            if field in record:
                assert getattr(problem, field).encode("utf-8") == record[field].encode("utf-8")


def test_problem_ids_are_unique_and_duplicate_names_are_numbered(data_config: DataConfig) -> None:
    problems = load_problems("proofnet", data_config)
    ids = [p.id for p in problems]
    assert len(set(ids)) == len(ids)
    assert "exercise_3_3#1" in ids and "exercise_3_3#2" in ids
    with pytest.raises(DataError, match="2 problems named 'exercise_3_3'"):
        load_problem("proofnet:exercise_3_3", data_config)
    assert load_problem("proofnet:exercise_3_3#2", data_config).name == "exercise_3_3"


def test_load_one_problem(data_config: DataConfig) -> None:
    problem = load_problem("minif2f:mathd_algebra_478", data_config)
    assert problem.split == "test" and problem.formal_statement.startswith("theorem mathd_algebra_478")
    with pytest.raises(DataError, match="no problem 'nope'"):
        load_problem("minif2f:nope", data_config)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: load_problems("minif3f", c), "unknown dataset 'minif3f'"),
        (lambda c: load_problems("minif2f", c, split="dev"), "no split 'dev'; its splits: test, valid"),
        (lambda c: load_problem("minif2f", c), "name a problem as DATASET:NAME"),
    ],
)
def test_bad_references(data_config: DataConfig, call: Callable[[DataConfig], object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        call(data_config)


def test_resolution_order(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = datasets.DATASETS["minif2f"]
    env_dir, cache_dir, config_dir = (tmp_path / d for d in ("env", "cache", "config"))
    for folder in (env_dir, cache_dir, config_dir):
        folder.mkdir()
        (folder / spec.filename).write_text("")
    monkeypatch.setenv(datasets.DATA_DIR_VARIABLE, str(env_dir))
    config = DataConfig(data_dir=config_dir, cache_dir=cache_dir, download=False)
    assert datasets.resolve_dataset_file(spec, config) == config_dir / spec.filename
    assert datasets.resolve_dataset_file(spec, replace(config, data_dir=None)) == env_dir / spec.filename
    monkeypatch.delenv(datasets.DATA_DIR_VARIABLE)
    assert datasets.resolve_dataset_file(spec, replace(config, data_dir=None)) == cache_dir / spec.filename
    # An explicit path wins over everything.
    assert len(load_problems("minif2f", config, path=shared_data / "minif2f.jsonl")) == 488


def test_missing_dataset_without_download_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(datasets.DATA_DIR_VARIABLE, raising=False)
    config = DataConfig(cache_dir=tmp_path, download=False)
    with pytest.raises(DataError, match="not found .* pass --path, set \\$PROVER_DATA_DIR"):
        load_problems("proofnet", config)


def _spec_for(source: Path, sha256: str) -> DatasetSpec:
    return DatasetSpec("minif2f", "minif2f.jsonl", source.as_uri(), sha256, "test copy", "a test", "none", "none")


def test_download_checks_sha256_and_lands_in_the_cache(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(datasets.DATA_DIR_VARIABLE, raising=False)
    source = shared_data / "minif2f.jsonl"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    monkeypatch.setitem(datasets.DATASETS, "minif2f", _spec_for(source, digest))
    config = DataConfig(cache_dir=tmp_path / "cache", download=True)
    assert len(load_problems("minif2f", config)) == 488
    assert (tmp_path / "cache" / "minif2f.jsonl").read_bytes() == source.read_bytes()


def test_download_refuses_a_changed_file(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(datasets.DATA_DIR_VARIABLE, raising=False)
    monkeypatch.setitem(datasets.DATASETS, "minif2f", _spec_for(shared_data / "minif2f.jsonl", "0" * 64))
    config = DataConfig(cache_dir=tmp_path / "cache", download=True)
    with pytest.raises(DataError, match="refusing a changed benchmark"):
        load_problems("minif2f", config)
    assert not list((tmp_path / "cache").glob("*"))


def test_download_failure_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(datasets.DATA_DIR_VARIABLE, raising=False)
    monkeypatch.setitem(datasets.DATASETS, "minif2f", _spec_for(tmp_path / "nowhere.jsonl", "0" * 64))
    with pytest.raises(DataError, match="download from .* failed"):
        load_problems("minif2f", DataConfig(cache_dir=tmp_path / "cache"))


GOOD = '{"name": "a", "split": "valid", "formal_statement": "theorem a : True := by\\n"}'
OTHER = GOOD.replace('"a"', '"c"')


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("{not json", "not valid JSON"),
        ('{"name": "b", "split": "valid"}', "missing field 'formal_statement'"),
        ('["a list"]', "expected a JSON object"),
        ('{"name": 3, "formal_statement": "x"}', "field 'name' must be a string"),
    ],
)
def test_bad_jsonl_lines_name_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(f"{GOOD}\n{bad_line}\n{OTHER}\n", encoding="utf-8")
    with pytest.raises(DataError, match=f"mine.jsonl:2: {message}.*--skip-bad"):
        load_jsonl(path)
    # With skip_bad the good lines on both sides of the bad one still load.
    assert [p.name for p in load_jsonl(path, skip_bad=True)] == ["a", "c"]


def test_non_utf8_jsonl_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(GOOD.encode() + b"\n" + '{"name": "é"}'.encode("latin-1") + b"\n")
    with pytest.raises(DataError, match="latin1.jsonl:2: not UTF-8"):
        load_jsonl(path)
    assert len(load_jsonl(path, skip_bad=True)) == 1


def test_any_jsonl_in_the_schema_loads_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(GOOD + "\n\n", encoding="utf-8")
    (problem,) = load_problems(str(path), DataConfig(cache_dir=tmp_path))
    assert (problem.name, problem.header, problem.goal, problem.source) == ("a", "", "", str(path))


def test_a_folder_of_lean_files_is_one_dataset_with_its_hash(tmp_path: Path) -> None:
    from lean_prover.data.problem import statements_hash

    (tmp_path / "sub" / ".lake").mkdir(parents=True)
    (tmp_path / "a.lean").write_text("theorem t : True := by\n  sorry\n\ntheorem done : True := trivial\n")
    (tmp_path / "sub" / "b.lean").write_text("theorem t : 1 = 1 := by\n  sorry\n")
    (tmp_path / "sub" / "c.lean").write_text("theorem proved : True := trivial\n")  # nothing to prove: left out
    (tmp_path / "sub" / ".lake" / "d.lean").write_text("theorem pkg : True := by\n  sorry\n")  # a package's
    problems = datasets.load_problems(str(tmp_path), DataConfig())
    assert [p.id for p in problems] == ["t#1", "t#2"] and statements_hash(problems).startswith("sha256:")
    (tmp_path / "sub" / "b.lean").write_text("theorem t : 1 = 2 := by\n  sorry\n")
    assert statements_hash(datasets.load_problems(str(tmp_path), DataConfig())) != statements_hash(problems)
    (tmp_path / "a.lean").write_text("theorem t : True := by\n  sorry\n/- unclosed")
    with pytest.raises(DataError, match="a.lean:3: cannot read this Lean file"):
        datasets.load_problems(str(tmp_path), DataConfig())
