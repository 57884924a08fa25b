"""S3 credentials: where they come from, and how they are kept out of logs, errors and reprs.

Credentials come, in this order, from the settings (``WISEHUB_S3__ACCESS_KEY`` and
``WISEHUB_S3__SECRET_KEY``, or the YAML config), from a credentials file
(``WISEHUB_S3__CREDENTIALS_FILE``) holding two lines ``access_key=…`` and ``secret_key=…``,
or from the standard ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` variables that the
platform's S3 catalogue entries template.

>>> creds = S3Credentials("AK", "very-secret")
>>> "very-secret" in repr(creds)
False
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from wisehub.config import S3Settings


class CredentialsError(ValueError):
    """S3 credentials are missing or malformed; the message says where to put them."""


@dataclass(frozen=True)
class S3Credentials:
    """An S3 access key and its secret. The secret never shows in ``repr`` or ``str``.

    >>> S3Credentials("AK", "sk")
    S3Credentials(access_key='AK', secret_key='***')
    """

    access_key: str
    secret_key: str = field(repr=False)

    def __repr__(self) -> str:
        return f"S3Credentials(access_key={self.access_key!r}, secret_key='***')"

    __str__ = __repr__


def read_credentials_file(path: Path) -> S3Credentials:
    """Read ``access_key=…`` and ``secret_key=…`` lines (``#`` comments and blanks allowed).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s3"
    >>> _ = p.write_text("access_key=AK\\nsecret_key=sk\\n")
    >>> read_credentials_file(p).access_key
    'AK'
    """
    try:
        text = path.read_text()
    except OSError as err:
        raise CredentialsError(
            f"S3 credentials file (WISEHUB_S3__CREDENTIALS_FILE) {path} cannot be read "
            f"({err.strerror}); create it with lines 'access_key=…' and 'secret_key=…'"
        ) from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or name.strip() not in ("access_key", "secret_key"):
            # Never echo the line: it may hold the secret.
            raise CredentialsError(
                f"S3 credentials file {path}, line {number}: expected 'access_key=…' or "
                "'secret_key=…'"
            )
        values[name.strip()] = value.strip()
    missing = [n for n in ("access_key", "secret_key") if not values.get(n)]
    if missing:
        raise CredentialsError(f"S3 credentials file {path} has no {' or '.join(missing)} line")
    return S3Credentials(values["access_key"], values["secret_key"])


def resolve_credentials(s3: S3Settings) -> S3Credentials:
    """The credentials to use for ``s3``: from the settings, else from the credentials file.

    >>> from wisehub.config import S3Settings
    >>> resolve_credentials(S3Settings(access_key="AK", secret_key="sk")).access_key
    'AK'
    """
    if s3.access_key or s3.secret_key:
        if not (s3.access_key and s3.secret_key):
            given, absent = (("access_key", "secret_key") if s3.access_key
                             else ("secret_key", "access_key"))
            raise CredentialsError(
                f"S3 {given} is set but {absent} is not; set WISEHUB_S3__{absent.upper()} too"
            )
        return S3Credentials(s3.access_key.get_secret_value(), s3.secret_key.get_secret_value())
    if s3.credentials_file:
        return read_credentials_file(Path(s3.credentials_file).expanduser())
    access_key, secret_key = (os.environ.get(n) for n in ("AWS_ACCESS_KEY_ID",
                                                          "AWS_SECRET_ACCESS_KEY"))
    if access_key and secret_key:
        return S3Credentials(access_key, secret_key)
    raise CredentialsError(
        f"no S3 credentials for {s3.endpoint_url}: set WISEHUB_S3__ACCESS_KEY and "
        "WISEHUB_S3__SECRET_KEY, or WISEHUB_S3__CREDENTIALS_FILE"
    )
