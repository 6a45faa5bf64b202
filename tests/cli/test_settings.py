"""Settings from the environment: the extraction memory limit reaches the extractor."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.settings import ConfigError, load, resolve


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("CARDEPASS_BASE_URL", "https://api.example.com/openapi")
    monkeypatch.setenv("CARDEPASS_CLIENT_ID", "sandbox")
    monkeypatch.setenv("CARDEPASS_CLIENT_SECRET", "sandbox-secret")
    monkeypatch.delenv("CARDREC_EXTRACT_MEMORY", raising=False)
    return monkeypatch


def test_extract_memory_defaults_to_256mb_and_can_be_set(env: pytest.MonkeyPatch) -> None:
    assert resolve().duckdb_memory_limit == "256MB"
    env.setenv("CARDREC_EXTRACT_MEMORY", " 1.5GiB ")
    assert resolve().duckdb_memory_limit == "1.5GiB"


def test_extract_memory_must_be_a_size(env: pytest.MonkeyPatch) -> None:
    env.setenv("CARDREC_EXTRACT_MEMORY", "lots")
    with pytest.raises(ConfigError, match="CARDREC_EXTRACT_MEMORY 'lots' is not a size"):
        resolve()


def test_reports_go_to_data_reports_label_run_id_unless_out_is_set(
    env: pytest.MonkeyPatch,
) -> None:
    env.delenv("CARDREC_LABEL", raising=False)
    env.delenv("CARDREC_OUT", raising=False)
    assert load().report_dir("run-1") == Path("data/reports/default/run-1")
    env.setenv("CARDREC_LABEL", "acme-eu.2")
    assert load().report_dir("run-1") == Path("data/reports/acme-eu.2/run-1")
    assert load(cardrec_label="b_2").report_dir("run-1") == Path("data/reports/b_2/run-1")
    env.setenv("CARDREC_OUT", "/srv/reports")
    assert load().report_dir("run-1") == Path("/srv/reports")


@pytest.mark.parametrize("label", ["", ".", "..", "a/b", "a\\b", "é", "a b"])
def test_a_label_must_be_a_plain_folder_name(env: pytest.MonkeyPatch, label: str) -> None:
    env.setenv("CARDREC_LABEL", label)
    with pytest.raises(ConfigError, match=r"CARDREC_LABEL: .* cannot be a folder name"):
        load()
