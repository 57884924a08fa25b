"""No secret in any settings error: every path by which a bad setting is reported.

Secrets are set (S3 keys, demo passwords) next to each kind of mistake: a model-level error
(``storage: s3`` without an endpoint) whose input is the whole settings mapping, misspelt keys
(``hub.demo_pasword``) whose value is the secret itself, bad YAML on the line holding the
secret, bad environment variables, and direct construction of the settings classes. The
message must still say what is wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from wisehub.config import S3Settings, Settings, SettingsError, load_settings
from wisehub.hub.settings import HubSettings

SECRET = "Zz9-very-secret-value-42"
SECRETS = {"s3": {"access_key": "AK" + SECRET, "secret_key": "SK" + SECRET},
           "hub": {"demo_password": "DP" + SECRET}}


def assert_no_secret(text: str) -> None:
    assert SECRET not in text, f"a secret leaked into: {text}"


@pytest.mark.parametrize(("values", "says"), [
    ({"storage": "s3", **SECRETS}, "s3.endpoint_url"),                  # model-level
    ({"hub": {"demo_pasword": "DP" + SECRET}}, "hub.demo_pasword"),     # misspelt secret key
    ({"s3": {"secrett": "SK" + SECRET}}, "s3.secrett"),
    ({"hub": {"demo_password": ["DP" + SECRET]}}, "hub.demo_password"),  # wrong type
    ({"hub": {"demo_admin_password": "short" + SECRET[:3]}}, "hub.demo_admin_password"),
    ({"hub": {"profiles": [], "demo_password": "DP" + SECRET}}, "at least one profile"),
    ({"hub": {"authenticator": "demo", "spawner": "system-users",
              "demo_password": "DP" + SECRET}}, "cannot be used with"),
    ({"s3": {"endpoint_url": "ftp://s3.example", "secret_key": "SK" + SECRET}},
     "(got 'ftp://s3.example')"),  # a bad value that is not a secret is still shown
    ({"mode": "cloud", **SECRETS}, "mode"),
    ({"typo": SECRET}, "typo"),
])
def test_keyword_settings_errors_hide_secrets(tmp_path: Path, values: dict, says: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(data_dir=tmp_path, **values)
    assert says in str(raised.value)
    assert_no_secret(str(raised.value))
    with pytest.raises(ValidationError) as direct:  # pydantic's own message too
        Settings(data_dir=tmp_path, **values)
    assert_no_secret(str(direct.value))


@pytest.mark.parametrize(("text", "says"), [
    (f"storage: s3\ns3:\n  secret_key: SK{SECRET}\n", "s3.endpoint_url"),
    (f"hub:\n  demo_pasword: DP{SECRET}\n", "hub.demo_pasword"),
    (f"s3:\n\tsecret_key: SK{SECRET}\n", "line 2"),                # YAML error on that line
    (f"s3: {{secret_key: 'SK{SECRET}'\n", "not valid YAML"),
    (f"- SK{SECRET}\n", "must hold a mapping"),
])
def test_config_file_errors_hide_secrets(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "wisehub.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError) as raised:
        load_settings(path, data_dir=tmp_path)
    assert says in str(raised.value)
    assert_no_secret(str(raised.value))


def test_environment_errors_hide_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.setenv("WISEHUB_S3__SECRET_KEY", "SK" + SECRET)
    monkeypatch.setenv("WISEHUB_HUB__DEMO_PASSWORD", "DP" + SECRET)
    monkeypatch.setenv("WISEHUB_STORAGE", "s3")
    with pytest.raises(SettingsError) as raised:
        load_settings(data_dir=tmp_path)
    assert "s3.endpoint_url" in str(raised.value)
    assert_no_secret(str(raised.value))
    monkeypatch.setenv("WISEHUB_S3", "{not json " + SECRET)
    with pytest.raises(SettingsError) as unparsable:
        load_settings(data_dir=tmp_path)
    assert_no_secret(str(unparsable.value))


def test_nested_models_hide_secrets_when_built_directly() -> None:
    with pytest.raises(ValidationError) as s3:
        S3Settings(secret_key="SK" + SECRET, endpoint_url="nope")
    with pytest.raises(ValidationError) as hub:
        HubSettings(demo_password="DP" + SECRET, profiles=[])
    for raised in (s3, hub):
        assert_no_secret(str(raised.value))


def test_the_cli_prints_no_secret(tmp_path: Path) -> None:
    config = tmp_path / "wisehub.yaml"
    config.write_text(f"storage: s3\ns3:\n  secret_key: SK{SECRET}\nhub:\n"
                      f"  demo_pasword: DP{SECRET}\n")
    done = subprocess.run([sys.executable, "-m", "wisehub.cli", "up", "--config", str(config),
                           "--data-dir", str(tmp_path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                          timeout=120, check=False)
    assert done.returncode == 2
    assert "demo_pasword" in done.stderr and "Traceback" not in done.stderr
    assert_no_secret(done.stdout + done.stderr)
