"""Platform settings: one typed object read from ``WISEHUB_*`` env vars and an optional YAML file.

Precedence, highest first: keyword arguments, ``WISEHUB_*`` environment variables, the YAML
file named by ``WISEHUB_CONFIG`` (or passed as ``config_file``), then the embedded defaults,
which give *local mode* under one data directory.

>>> s = Settings(data_dir="wh-doc")
>>> s.mode, str(s.lineage_db_url)
('local', 'sqlite:///.../wh-doc/lineage.sqlite')
"""

from __future__ import annotations

import getpass
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ByteSize, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import SettingsError as SourceError

from wisehub.compute.settings import ComputeSettings
from wisehub.errors import SettingsError
from wisehub.hub.settings import HubSettings
from wisehub.resources import catalog_dir
from wisehub.settings_types import CommaList, LayoutSettings


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "wisehub"


class S3Settings(BaseSettings):
    """Where S3 (Ceph RGW) lives and how to authenticate. Secrets never appear in reprs."""

    model_config = SettingsConfigDict(extra="forbid", hide_input_in_errors=True)

    endpoint_url: str | None = Field(None, description="S3 endpoint, e.g. http://127.0.0.1:7480")
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    credentials_file: Path | None = Field(
        None, description="A file with two lines 'access_key=…' and 'secret_key=…'"
    )
    bucket: str = Field("wisehub", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    region: str = "us-east-1"

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_is_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value


class Settings(BaseSettings):
    """Everything the platform needs to know, validated at start.

    >>> Settings(data_dir="wh-doc", mode="local").catalog_path.name
    'wisehub.yaml'
    """

    model_config = SettingsConfigDict(
        env_prefix="WISEHUB_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
        hide_input_in_errors=True,  # a model-level error would otherwise print every secret
    )

    mode: Literal["local", "cluster"] = Field("local", description="local or cluster")
    data_dir: Path = Field(default_factory=_default_data_dir, description="local data root")
    catalog_url: str | None = Field(
        None, description="root Intake catalogue (path or URL); default: the packaged catalogs/"
    )
    storage: Literal["local", "s3"] = Field("local", description="where product data lives")
    s3: S3Settings = Field(default_factory=S3Settings)
    lineage_db_url: str | None = Field(None, description="SQLAlchemy URL of the lineage store")
    scheduler_address: str | None = Field(
        None, description="connect wh.cluster() to this Dask scheduler instead of starting one"
    )
    dask_workers: int | None = Field(None, ge=1, description="local workers (default: by CPUs)")
    chunk_size: ByteSize = Field(
        ByteSize(16 << 20), gt=0,
        description="bytes of pixels per Dask task: Zarr read grouping, ingested chunks and "
        "reduction tiles (e.g. 16MiB)",
    )
    user: str = Field(
        default_factory=lambda: os.environ.get("JUPYTERHUB_USER") or getpass.getuser(),
        pattern=r"^[A-Za-z0-9._@-]+$",
    )
    groups: CommaList = Field(
        default_factory=list, description="the user's groups (comma-separated in env)"
    )
    project: str | None = Field(None, description="the user's current project")
    lineage_privilege: Literal["private", "group", "project", "world"] = Field(
        "private", description="the privilege new lineage products take (promote later)"
    )
    hub_url: str | None = Field(None, description="the JupyterHub base URL, when under a hub")
    hub: HubSettings = Field(
        default_factory=HubSettings, description="the hub: auth, spawner, profiles, culling"
    )
    compute: ComputeSettings = Field(
        default_factory=ComputeSettings, description="the compute service: limits, backend"
    )
    layouts: LayoutSettings = Field(default_factory=LayoutSettings, description="Zarr layouts")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _YamlSource(settings_cls)

    @model_validator(mode="after")
    def _fill_derived(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().absolute()
        if self.lineage_db_url is None:
            self.lineage_db_url = f"sqlite:///{self.data_dir / 'lineage.sqlite'}"
        if self.storage == "s3" and not self.s3.endpoint_url:
            raise ValueError(
                "storage is 's3' but s3.endpoint_url (WISEHUB_S3__ENDPOINT_URL) is unset"
            )
        return self

    @property
    def catalog_path(self) -> Path:
        """The root catalogue file (local path form of ``catalog_url``)."""
        return Path(self.catalog_url) if self.catalog_url else catalog_dir() / "wisehub.yaml"

    @property
    def samples_dir(self) -> Path:
        """Where ``wisehub samples make`` writes FITS files and Zarr stores."""
        return self.data_dir / "samples"

    def ensure_data_dir(self) -> Path:
        """Create the data directory, or fail clearly if it cannot be written.

        >>> Settings(data_dir="wh-doc").ensure_data_dir().is_dir()
        True
        """
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / ".wisehub-write-probe"
            probe.write_text("ok")
            probe.unlink()
        except OSError as err:
            raise SettingsError(
                f"data_dir (WISEHUB_DATA_DIR): {self.data_dir} is not writable ({err.strerror}); "
                "choose a directory you can write to"
            ) from err
        return self.data_dir

    def environment(self) -> dict[str, str]:
        """These settings as ``WISEHUB_*`` env vars, for user servers and Dask workers.

        >>> Settings(data_dir="/srv/wh").environment()["WISEHUB_DATA_DIR"]
        '/srv/wh'
        """
        env = {
            "WISEHUB_MODE": self.mode,
            "WISEHUB_DATA_DIR": str(self.data_dir),
            "WISEHUB_CATALOG_URL": str(self.catalog_path),
            "WISEHUB_STORAGE": self.storage,
            "WISEHUB_LINEAGE_DB_URL": str(self.lineage_db_url),
        }
        if self.s3.endpoint_url:
            env["WISEHUB_S3__ENDPOINT_URL"] = self.s3.endpoint_url
            env["WISEHUB_S3__BUCKET"] = self.s3.bucket
        if self.scheduler_address:
            env["WISEHUB_SCHEDULER_ADDRESS"] = self.scheduler_address
        if self.project:
            env["WISEHUB_PROJECT"] = self.project
        return env


class _YamlSource(PydanticBaseSettingsSource):
    """Settings from the YAML file named by ``WISEHUB_CONFIG`` (lowest precedence)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("WISEHUB_CONFIG")
        return _read_yaml(Path(path)) if path else {}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as err:
        raise SettingsError(f"config file (WISEHUB_CONFIG): {path} does not exist") from err
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise SettingsError(
            f"config file (WISEHUB_CONFIG): {path} is not valid YAML: {yaml_problem(err)}"
        ) from None
    if not isinstance(data, dict):
        raise SettingsError(f"config file (WISEHUB_CONFIG): {path} must hold a mapping of settings")
    return data


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Read and validate the settings; raise :class:`SettingsError` naming any bad one.

    >>> load_settings(data_dir="wh-doc").mode
    'local'
    """
    file_values = _read_yaml(Path(config_file)) if config_file else {}
    try:
        return Settings(**{**file_values, **overrides})
    except ValidationError as err:
        raise SettingsError(_describe(err)) from None
    except SourceError as err:  # a value the env source could not even parse
        raise SettingsError(f"invalid setting: {err}") from None


def yaml_problem(err: Exception) -> str:
    """What is wrong in a YAML text and where, without quoting the text (it may hold secrets).

    >>> try:
    ...     yaml.safe_load("a: 1\\n\\tsecret_key: hunter2\\n")
    ... except yaml.YAMLError as err:
    ...     print(yaml_problem(err))
    found character '\\t' that cannot start any token (line 2, column 1)
    """
    if isinstance(err, UnicodeDecodeError):
        return f"not UTF-8 text (byte {err.start})"
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or getattr(err, "context", None) or "unreadable"
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{problem}{where}"


def _describe(err: ValidationError) -> str:
    lines = []
    for problem in err.errors():
        loc = problem["loc"]
        name = ".".join(str(p) for p in loc) or "settings"
        env = "WISEHUB_" + "__".join(str(p) for p in loc).upper()
        given = problem.get("input")
        shown = f" (got {given!r})" if _may_show(loc, given) else ""
        lines.append(f"invalid setting {name} ({env}){shown}: {problem['msg']}")
    return "\n".join(lines)


def _may_show(loc: tuple[int | str, ...], given: Any) -> bool:
    """Whether a bad input may be quoted: only a scalar given for a known, non-secret field.

    Whole sections (model-level errors), unknown keys (a misspelt ``demo_pasword``) and
    anything typed ``SecretStr`` are never quoted, whatever they are called.
    """
    if isinstance(given, dict | list | tuple | set) or not loc:
        return False
    model: Any = Settings
    annotation: Any = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if fields is None or not isinstance(part, str) or part not in fields:
            return False
        annotation = fields[part].annotation
        model = annotation
    return SecretStr not in _types_in(annotation)


def _types_in(annotation: Any) -> set[Any]:
    """Every type an annotation names (``SecretStr | None`` gives both)."""
    args = getattr(annotation, "__args__", ())
    return {annotation}.union(*(_types_in(a) for a in args))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Call ``get_settings.cache_clear()`` after changes.

    >>> get_settings() is get_settings()
    True
    """
    return load_settings()
