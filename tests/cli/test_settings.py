"""Settings from the environment: the extraction memory limit reaches the extractor."""

from __future__ import annotations

import pytest

from flows.settings import ConfigError, extract_settings, load


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("CARDEPASS_BASE_URL", "https://api.example.com/openapi")
    monkeypatch.setenv("CARDEPASS_CLIENT_ID", "sandbox")
    monkeypatch.setenv("CARDEPASS_CLIENT_SECRET", "sandbox-secret")
    monkeypatch.delenv("CARDREC_EXTRACT_MEMORY", raising=False)
    return monkeypatch


def test_extract_memory_defaults_to_256mb_and_can_be_set(env: pytest.MonkeyPatch) -> None:
    assert extract_settings(load()).duckdb_memory_limit == "256MB"
    env.setenv("CARDREC_EXTRACT_MEMORY", " 1.5GiB ")
    assert extract_settings(load()).duckdb_memory_limit == "1.5GiB"


def test_extract_memory_must_be_a_size(env: pytest.MonkeyPatch) -> None:
    env.setenv("CARDREC_EXTRACT_MEMORY", "lots")
    with pytest.raises(ConfigError, match="CARDREC_EXTRACT_MEMORY 'lots' is not a size"):
        extract_settings(load())
