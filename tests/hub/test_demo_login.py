"""The demo login, attacked by a pupil who knows the class's shared password.

Starts: the session hub (tests/hub/conftest.py). The admin password used to be derived from
the users' (``f"{pw}-admin-{pw}"`` padded to 32), so every pupil knew the teacher's.
"""

from __future__ import annotations

import pytest
from hubtools import can_log_in, run
from traitlets.config import Config
from wisehub.config import Settings, SettingsError, load_settings
from wisehub.hub import configure
from wisehub.hub.launcher import RunningHub, generate_demo_passwords


@pytest.mark.hub
def test_the_users_password_does_not_give_the_admins(hub: RunningHub, hub_settings: Settings):
    pupil_password = hub_settings.hub.demo_password.get_secret_value()
    derived = f"{pupil_password}-admin-{pupil_password}".ljust(32, "!")
    assert run(can_log_in(hub.url, "pupil1", pupil_password)) is True
    for guess in (derived, pupil_password):
        assert run(can_log_in(hub.url, "teacher", guess)) is False


def test_generated_admin_password_is_random_and_separate(tmp_path) -> None:
    seen = set()
    for _ in range(3):
        settings = load_settings(data_dir=tmp_path)
        generate_demo_passwords(settings)
        user = settings.hub.demo_password.get_secret_value()
        admin = settings.hub.demo_admin_password.get_secret_value()
        assert len(admin) >= 32 and user not in admin
        seen.add(admin)
        c = Config()
        configure(c, settings)
        assert c.SharedPasswordAuthenticator.admin_password == admin
        assert c.SharedPasswordAuthenticator.user_password == user
    assert len(seen) == 3


def test_demo_login_with_system_users_is_refused_with_the_reason(tmp_path) -> None:
    with pytest.raises(SettingsError, match=r"demo.*system-users.*any listed user.*native"):
        load_settings(data_dir=tmp_path, hub={"spawner": "system-users",
                                              "demo_password": "demo-1234"})
