"""Settings: defaults, overrides from env and YAML, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from wisehub.config import Settings, SettingsError, load_settings
from wisehub.hub.profiles import offered
from wisehub.resources import catalog_dir, demo_users_file, notebooks_dir


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WISEHUB_DATA_DIR", "WISEHUB_MODE", "WISEHUB_CONFIG", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_give_local_mode_under_one_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    s = load_settings()
    assert s.mode == "local"
    assert s.storage == "local"
    assert s.data_dir == tmp_path / "wisehub"
    assert s.lineage_db_url == f"sqlite:///{tmp_path / 'wisehub' / 'lineage.sqlite'}"
    assert s.catalog_path.name == "wisehub.yaml" and s.catalog_path.exists()
    assert s.samples_dir == tmp_path / "wisehub" / "samples"


def test_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WISEHUB_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("WISEHUB_MODE", "cluster")
    monkeypatch.setenv("WISEHUB_GROUPS", "astro, school")
    monkeypatch.setenv("WISEHUB_S3__ENDPOINT_URL", "http://127.0.0.1:7480")
    monkeypatch.setenv("WISEHUB_LINEAGE_DB_URL", "postgresql+psycopg://u@127.0.0.1/l")
    s = load_settings()
    assert (s.mode, s.data_dir, s.groups) == ("cluster", tmp_path / "d", ["astro", "school"])
    assert s.s3.endpoint_url == "http://127.0.0.1:7480"
    assert s.lineage_db_url == "postgresql+psycopg://u@127.0.0.1/l"
    assert s.environment()["WISEHUB_DATA_DIR"] == str(tmp_path / "d")


def test_yaml_file_is_read_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "wisehub.yaml"
    config.write_text(f"mode: cluster\ndata_dir: {tmp_path / 'y'}\ns3:\n  bucket: science\n")
    monkeypatch.setenv("WISEHUB_CONFIG", str(config))
    assert load_settings().mode == "cluster"
    assert load_settings().s3.bucket == "science"
    monkeypatch.setenv("WISEHUB_MODE", "local")
    assert load_settings().mode == "local"
    assert load_settings(config_file=config, mode="cluster").data_dir == tmp_path / "y"


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("WISEHUB_MODE", "cloudy", "WISEHUB_MODE"),
        ("WISEHUB_S3__ENDPOINT_URL", "127.0.0.1:7480", "WISEHUB_S3__ENDPOINT_URL"),
        ("WISEHUB_DASK_WORKERS", "0", "WISEHUB_DASK_WORKERS"),
        ("WISEHUB_STORAGE", "s3", "WISEHUB_S3__ENDPOINT_URL"),
    ],
)
def test_invalid_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match=named):
        load_settings()


def test_bad_yaml_files_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    garbled = tmp_path / "bad.yaml"
    garbled.write_text("mode: [local\n")
    with pytest.raises(SettingsError, match="bad.yaml is not valid YAML"):
        load_settings(config_file=garbled)
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(config_file=tmp_path / "missing.yaml")
    garbled.write_text("- a list\n")
    with pytest.raises(SettingsError, match="must hold a mapping"):
        load_settings(config_file=garbled)
    garbled.write_text("colour: blue\n")
    with pytest.raises(SettingsError, match="colour"):
        load_settings(config_file=garbled)


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(SettingsError, match="WISEHUB_DATA_DIR.*not writable"):
        Settings(data_dir=blocker / "data").ensure_data_dir()


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WISEHUB_S3__SECRET_KEY", "topsecret-value")
    s = load_settings()
    assert s.s3.secret_key.get_secret_value() == "topsecret-value"
    assert "topsecret-value" not in repr(s) and "topsecret-value" not in str(s.environment())


def test_defaults_come_from_package_data_not_the_checkout(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    s = load_settings()
    assert s.catalog_path == catalog_dir() / "wisehub.yaml"
    assert s.hub.users_file == demo_users_file()
    assert s.hub.notebooks == [notebooks_dir() / "tutorials", notebooks_dir() / "examples"]
    assert all(folder.is_dir() and any(folder.glob("*.ipynb")) for folder in s.hub.notebooks)


def test_large_profile_groups_are_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert offered(load_settings().hub.profiles, groups={"astro"})[-1].slug == "medium"
    monkeypatch.setenv("WISEHUB_HUB__LARGE_PROFILE_GROUPS", "lab, astro")
    hub = load_settings().hub
    assert hub.profiles[-1].slug == "large" and hub.profiles[-1].groups == ["lab", "astro"]
    assert offered(hub.profiles, groups={"astro"})[-1].slug == "large"
    assert [p.slug for p in offered(hub.profiles, groups={"astro101"})] == ["small", "medium"]
    monkeypatch.setenv("WISEHUB_HUB__LARGE_PROFILE_GROUPS", "Lab Group")
    with pytest.raises(SettingsError, match="large_profile_groups.*Lab Group"):
        load_settings()


def test_explicit_profiles_replace_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WISEHUB_HUB__LARGE_PROFILE_GROUPS", "astro")
    hub = load_settings(hub={"profiles": [{"slug": "one", "display_name": "One"}]}).hub
    assert [p.slug for p in hub.profiles] == ["one"]
