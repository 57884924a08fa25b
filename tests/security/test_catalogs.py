"""Catalogues written by another user: opening or listing one never runs their code.

The attacker is a real second OS user who can write a catalogue the victim's root catalogue
includes (a group workspace, a shared publish target). The victim opens and lists the
platform catalogue; the attacker's command must not run, and the victim's other entries must
stay available. Needs root (useradd).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
import wisehub as wh
from attack import as_user, needs_root, unique_name
from wisehub.catalog import CatalogError
from wisehub.catalog.platform import CatalogWarning

ROOT = """\
version: 2
data:
  mine: {{datatype: "intake.readers.datatypes:Zarr", kwargs: {{url: "{{CATALOG_DIR}}/m.zarr"}}}}
  shared_yaml: {{datatype: "intake.readers.datatypes:YAMLFile",
                kwargs: {{url: "{shared}"}}}}
entries:
  my.data:
    reader: intake.readers.readers:XArrayDatasetReader
    kwargs: {{args: ["{{data(mine)}}"], engine: zarr}}
    metadata: {{title: Mine}}
  shared:
    reader: intake.readers.readers:YAMLCatalogReader
    kwargs: {{args: ["{{data(shared_yaml)}}"]}}
    output_instance: intake.readers.entry:Catalog
"""

# Run by intake when the victim's catalogue is opened (wisehub used to .read() sub-catalogues).
RUN_ON_OPEN = """\
version: 2
entries:
  evil:
    reader: intake.readers.convert:GenericFunc
    kwargs: {{func: "{{func(os:system)}}", args: ["touch {proof}"]}}
    output_instance: intake.readers.entry:Catalog
"""

# Dressed as a dataset; runs on read() through a generic-function reader.
RUN_ON_READ = """\
version: 2
entries:
  looks.fine:
    reader: intake.readers.convert:GenericFunc
    kwargs: {{func: "{{func(os:system)}}", args: ["touch {proof}"]}}
    output_instance: xarray:Dataset
"""

UNPICKLE = """\
version: 2
data:
  x: {{datatype: "intake.readers.datatypes:Zarr", kwargs: {{url: "{{pickle64({payload})}}"}}}}
entries:
  x:
    reader: intake.readers.readers:XArrayDatasetReader
    kwargs: {{args: ["{{data(x)}}"], engine: zarr}}
"""

PYTHON_TAG = "version: 2\nentries: !!python/object/apply:os.system ['touch {proof}']\n"


@pytest.fixture
def workspace(open_root: Path, cleanup_accounts) -> tuple[str, Path]:
    """A directory the attacker (a real OS user) may write, as a group workspace is."""
    attacker = cleanup_accounts(unique_name("atk"))
    subprocess.run(["useradd", attacker], check=True)
    shared = open_root / "groups" / "lab"
    shared.mkdir(parents=True)
    subprocess.run(["chown", attacker, str(shared)], check=True)
    return attacker, shared


def plant(attacker: str, path: Path, text: str) -> None:
    done = as_user(attacker, f"cat > {path} <<'EOF'\n{text}EOF\n")
    assert done.returncode == 0, done.stderr
    assert path.stat().st_uid != 0  # written by the attacker, not by the test


def victim_catalog(root: Path, shared: Path) -> Path:
    path = root / "victim.yaml"
    path.write_text(ROOT.format(shared=shared / "catalog.yaml"))
    return path


def pickle_payload(proof: Path) -> str:
    import base64
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {proof}",))

    return base64.b64encode(pickle.dumps(Boom())).decode()


@needs_root
@pytest.mark.parametrize("payload", ["run-on-open", "run-on-read", "unpickle", "python-tag"])
def test_a_planted_catalogue_runs_nothing(open_root: Path, workspace: tuple[str, Path],
                                          payload: str, data_dir: Path) -> None:
    attacker, shared = workspace
    proof = open_root / "proof"
    text = {"run-on-open": RUN_ON_OPEN.format(proof=proof),
            "run-on-read": RUN_ON_READ.format(proof=proof),
            "unpickle": UNPICKLE.format(payload=pickle_payload(proof)),
            "python-tag": PYTHON_TAG.format(proof=proof)}[payload]
    plant(attacker, shared / "catalog.yaml", text)

    with pytest.warns(CatalogWarning, match="catalog.yaml"):
        cat = wh.catalog(victim_catalog(open_root, shared))
        names = cat.names()
    assert names == ["my.data"]  # the victim's own entry is still there
    with pytest.raises(CatalogError):
        cat["looks.fine"].read()
    assert not proof.exists(), "the attacker's command ran in the victim's process"
    [problem] = cat.problems
    assert str(shared / "catalog.yaml") in str(problem)


@pytest.mark.parametrize(("text", "problem"), [
    ("version: 2\nentries: [unclosed\n", "not valid YAML"),
    ("version: 2\nentries:\n  x: {reader: 'os:system', kwargs: {args: ['{data(d)}']}}\n",
     "reader 'os:system' is not allowed"),
    ("version: 2\ndata:\n  d: {datatype: 'intake.readers.datatypes:Pickle', kwargs: {url: x}}\n",
     "datatype 'intake.readers.datatypes:Pickle' is not allowed"),
    ("version: 2\ndata:\n  d: {datatype: 'intake.readers.datatypes:Zarr', "
     "kwargs: {url: '{import(os)}'}}\n", "template"),
    ("sources: {}\n", "not a valid Intake 2 catalogue"),
])
def test_a_bad_sub_catalogue_is_named_and_the_rest_still_lists(tmp_path: Path, text: str,
                                                               problem: str, data_dir: Path
                                                               ) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    root = victim_catalog(tmp_path, tmp_path).read_text().replace("catalog.yaml", "bad.yaml")
    (tmp_path / "victim.yaml").write_text(root)
    with pytest.warns(CatalogWarning):
        cat = wh.catalog(tmp_path / "victim.yaml")
        assert cat.names() == ["my.data"]
    [error] = cat.problems
    assert "bad.yaml" in str(error) and problem in str(error)
    assert isinstance(error, CatalogError)


def test_a_cycle_of_sub_catalogues_is_reported_not_recursed(tmp_path: Path,
                                                            data_dir: Path) -> None:
    # a.yaml includes b.yaml, which includes a.yaml again.
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(f"""\
            version: 2
            data:
              {name}_zarr: {{datatype: "intake.readers.datatypes:Zarr",
                           kwargs: {{url: "{{CATALOG_DIR}}/{name}.zarr"}}}}
              next: {{datatype: "intake.readers.datatypes:YAMLFile",
                     kwargs: {{url: "{{CATALOG_DIR}}/{other}.yaml"}}}}
            entries:
              {name}.data:
                reader: intake.readers.readers:XArrayDatasetReader
                kwargs: {{args: ["{{data({name}_zarr)}}"], engine: zarr}}
              next:
                reader: intake.readers.readers:YAMLCatalogReader
                kwargs: {{args: ["{{data(next)}}"]}}
            """))
    with pytest.warns(CatalogWarning, match="cycle"):
        cat = wh.catalog(tmp_path / "a.yaml")
        assert cat.names() == ["a.data", "b.data"]
    [error] = cat.problems
    assert "a.yaml" in str(error) and "cycle" in str(error)


def test_s3_options_reach_the_reader_without_touching_the_environment(
        monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    names = ("S3_ENDPOINT_URL", "WISEHUB_S3_BUCKET", "AWS_ACCESS_KEY_ID",
             "AWS_SECRET_ACCESS_KEY")
    for name in names:
        monkeypatch.delenv(name, raising=False)
    settings = wh.Settings(data_dir=data_dir, s3={"endpoint_url": "http://127.0.0.1:1",
                                                  "access_key": "AKUSER",
                                                  "secret_key": "sk-user", "bucket": "lab"})
    where = wh.catalog(settings=settings)["whcam.raw.s3"].location()
    assert where.url == "s3://lab/world/samples/raw.zarr"
    assert where.storage_options["key"] == "AKUSER"
    assert where.storage_options["secret"] == "sk-user"
    assert where.storage_options["client_kwargs"] == {"endpoint_url": "http://127.0.0.1:1"}
    assert "sk-user" not in repr(where)
    assert not any(name in os.environ for name in names)
