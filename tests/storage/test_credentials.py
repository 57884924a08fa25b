"""Where S3 credentials come from, and that a secret never shows in reprs or errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from wisehub.config import S3Settings, Settings, load_settings
from wisehub.storage.credentials import (
    CredentialsError,
    S3Credentials,
    read_credentials_file,
    resolve_credentials,
)
from wisehub.storage.s3 import s3_storage

SECRET = "s3cr3t-Do-Not-Print"
ENDPOINT = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "WISEHUB_S3__ACCESS_KEY",
                 "WISEHUB_S3__SECRET_KEY", "WISEHUB_S3__CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_settings_env_vars_give_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WISEHUB_S3__ACCESS_KEY", "AK1")
    monkeypatch.setenv("WISEHUB_S3__SECRET_KEY", SECRET)
    creds = resolve_credentials(load_settings(data_dir="/tmp/wh-t").s3)
    assert (creds.access_key, creds.secret_key) == ("AK1", SECRET)


def test_credentials_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "s3.cred"
    path.write_text(f"# platform keys\naccess_key = AK2\n\nsecret_key={SECRET}\n")
    creds = resolve_credentials(S3Settings(endpoint_url=ENDPOINT, credentials_file=path))
    assert (creds.access_key, creds.secret_key) == ("AK2", SECRET)


def test_standard_aws_variables_are_the_last_resort(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AK3")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    assert resolve_credentials(S3Settings(endpoint_url=ENDPOINT)).access_key == "AK3"
    explicit = S3Settings(endpoint_url=ENDPOINT, access_key="AK1", secret_key=SECRET)
    assert resolve_credentials(explicit).access_key == "AK1"


def test_missing_credentials_say_where_to_put_them() -> None:
    with pytest.raises(CredentialsError, match="WISEHUB_S3__ACCESS_KEY") as err:
        resolve_credentials(S3Settings(endpoint_url=ENDPOINT))
    assert ENDPOINT in str(err.value)


def test_half_set_credentials_name_the_missing_half() -> None:
    with pytest.raises(CredentialsError, match="WISEHUB_S3__SECRET_KEY"):
        resolve_credentials(S3Settings(endpoint_url=ENDPOINT, access_key="AK"))


def test_malformed_credentials_file_never_echoes_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "s3.cred"
    path.write_text(f"access_key=AK\n{SECRET}\n")
    with pytest.raises(CredentialsError, match="line 2") as err:
        read_credentials_file(path)
    assert SECRET not in str(err.value)
    missing = tmp_path / "nope"
    with pytest.raises(CredentialsError, match="cannot be read"):
        read_credentials_file(missing)


def test_secret_is_absent_from_reprs_and_settings_errors() -> None:
    creds = S3Credentials("AK", SECRET)
    settings = Settings(data_dir="/tmp/wh-t", storage="s3",
                        s3={"endpoint_url": ENDPOINT, "access_key": "AK", "secret_key": SECRET})
    store = s3_storage(settings)
    for shown in (repr(creds), str(creds), repr(settings), repr(store), str(store),
                  repr(settings.s3), str(settings.environment())):
        assert SECRET not in shown
    with pytest.raises(Exception) as err:
        load_settings(data_dir="/tmp/wh-t", s3={"secret_key": SECRET, "bucket": "A"})
    assert SECRET not in str(err.value)
