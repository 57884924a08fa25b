"""Fuzzing catalogue YAML, settings files and user names: a clear error or a result, never a
traceback from deep inside, and never a secret in the message."""

from __future__ import annotations

import string
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wisehub import names
from wisehub.catalog.document import CatalogError, parse_catalog
from wisehub.catalog.platform import Templates
from wisehub.config import Settings, SettingsError, load_settings
from wisehub.hub.settings import Directory

SECRET = "Qq7-fuzz-secret-0815"
FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

templates = st.sampled_from(["{CATALOG_DIR}", "{env(AWS_SECRET_ACCESS_KEY)}", "{data(d)}",
                             "{func(os:system)}", "{pickle64(gASVAA==)}", "{import(os)}",
                             "{x}", "{env(UNSET_VAR)}", "{", "}", "{{}}"])
text = st.text(alphabet=string.printable, max_size=30)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), text, templates,
                    st.builds(lambda a, b: a + b, text, templates))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(text, templates), inner,
                                                 max_size=4)), max_leaves=20)
known = st.sampled_from(["version", "data", "entries", "datatype", "reader", "kwargs", "url",
                         "args", "engine", "storage_options", "metadata", "output_instance",
                         "intake.readers.datatypes:Zarr", "intake.readers.datatypes:YAMLFile",
                         "intake.readers.readers:XArrayDatasetReader",
                         "intake.readers.readers:YAMLCatalogReader", "zarr", "d", 2])
catalog_like = st.recursive(st.one_of(scalars, known), lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(known, inner, max_size=5)), max_leaves=30)


@FUZZ
@given(document=catalog_like, garbage=st.text(max_size=200))
def test_catalogue_yaml_gives_a_document_or_a_catalog_error(document, garbage: str) -> None:
    env = Templates({"AWS_SECRET_ACCESS_KEY": SECRET}, "/cat")
    for source in (yaml.safe_dump(document), garbage):
        try:
            parsed = parse_catalog(source, "fuzz.yaml")
        except CatalogError as err:
            assert "fuzz.yaml" in str(err) and SECRET not in str(err)
            continue
        for described in [*parsed.datasets.values(), *parsed.subcatalogs.values()]:
            try:
                env.resolve(described.data.kwargs, f"entry {described.name!r}")
            except CatalogError as err:
                assert SECRET not in str(err)


setting_keys = st.sampled_from(["storage", "s3", "hub", "mode", "data_dir", "catalog_url",
                                "endpoint_url", "secret_key", "access_key", "demo_password",
                                "demo_pasword", "demo_admin_password", "profiles", "port",
                                "spawner", "authenticator", "groups", "user", "slug"])
setting_values = st.one_of(values, st.just("s3"), st.just("system-users"), st.just("native"))
settings_like = st.recursive(setting_values, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(setting_keys, inner, max_size=5)),
    max_leaves=25)


@FUZZ
@given(document=settings_like, garbage=st.text(max_size=200))
def test_settings_files_give_settings_or_a_clear_error(tmp_path: Path, document,
                                                       garbage: str) -> None:
    # Secrets where they belong (typed SecretStr) and under a misspelt key; anything else may
    # be quoted back in an error, these never.
    section = document if isinstance(document, dict) else {}
    with_secrets = {**section,
                    "s3": {**(section.get("s3") if isinstance(section.get("s3"), dict) else {}),
                           "secret_key": SECRET, "access_key": SECRET},
                    "hub": {**(section.get("hub") if isinstance(section.get("hub"), dict)
                               else {}), "demo_password": SECRET, "demo_pasword": SECRET}}
    path = tmp_path / "wisehub.yaml"
    for source in (yaml.safe_dump(with_secrets), yaml.safe_dump({"typo": SECRET, "x": document}),
                   garbage + f"\nsecret_key: {SECRET}"):
        path.write_text(source)
        try:
            loaded = load_settings(path, data_dir=tmp_path)
        except SettingsError as err:
            assert str(err) and SECRET not in str(err)
        else:
            assert isinstance(loaded, Settings)
            assert SECRET not in repr(loaded)


@FUZZ
@given(name=st.one_of(st.text(max_size=40), st.from_regex(names.PATTERN, fullmatch=True)))
def test_names_are_checked_by_one_rule(name: str) -> None:
    try:
        checked = names.check(name)
    except names.InvalidName as err:
        assert "invalid user name" in str(err)
        accepted = False
    else:
        assert checked == name
        accepted = True
    assert accepted == names.is_valid(name)
    if accepted:
        assert not set(name) & set("*?/.:$ \n\\[]{}@") and len(name) <= 29
    try:
        Directory(users=[name], groups={name: {"members": [name]}})
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        assert not accepted and "invalid user or group names" in str(err)
    else:
        assert accepted
