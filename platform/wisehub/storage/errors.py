"""Storage errors that say what happened and what to do, and never carry a secret.

fsspec/s3fs report S3 problems as ``PermissionError``/``OSError`` with the botocore error as
the cause. :func:`translate` turns them into the classes below, naming the endpoint and the
location. The messages are built here from the error *codes* only, so a secret cannot leak in.

>>> str(StorageUnavailableError("S3 endpoint http://127.0.0.1:1 is not reachable"))
'S3 endpoint http://127.0.0.1:1 is not reachable'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

AUTH_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
              "AuthorizationHeaderMalformed"}


class StorageError(RuntimeError):
    """A storage operation failed; the message names the location, never a secret."""


class StorageCredentialsError(StorageError):
    """The S3 endpoint rejected the credentials themselves (unknown key or wrong secret)."""


class StorageAccessDenied(StorageError):
    """Valid credentials, but not allowed at this location (bucket policy / layout)."""


class StorageQuotaError(StorageError):
    """The bucket or user quota is full."""


class StorageUnavailableError(StorageError):
    """The S3 endpoint could not be reached or stopped answering."""


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def error_code(err: BaseException) -> str | None:
    """The S3 error code (``QuotaExceeded``, ``AccessDenied``, …) behind ``err``, if any."""
    for link in _chain(err):
        response = getattr(link, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
            if code:
                return str(code)
    return None


def _unreachable(err: BaseException) -> bool:
    names = {type(link).__name__ for link in _chain(err)}
    return bool(names & {"EndpointConnectionError", "ConnectionClosedError",
                         "ClientConnectorError", "ServerDisconnectedError",
                         "ConnectionRefusedError", "ConnectTimeoutError", "ReadTimeoutError"})


def translate(err: BaseException, *, endpoint: str, doing: str,
              credentials_ok: Callable[[], bool], access_key: str = "",
              consequence: str = "") -> BaseException:
    """The storage error to raise for ``err`` (or ``err`` itself if it is none of ours).

    ``doing`` says what was attempted ("writing s3://b/k"); ``credentials_ok`` probes whether
    the credentials are valid (S3 answers a denied HEAD with a bare 403 and no code);
    ``consequence`` is appended, e.g. "nothing was registered".
    """
    if isinstance(err, StorageError):
        return err
    tail = f"; {consequence}" if consequence else ""
    code = error_code(err)
    if _unreachable(err) or code in {"ServiceUnavailable", "SlowDown", "503"}:
        return StorageUnavailableError(
            f"S3 endpoint {endpoint} is not reachable or stopped answering while {doing}{tail}; "
            "retry once it is back (check WISEHUB_S3__ENDPOINT_URL if it persists)")
    if code == "QuotaExceeded":
        return StorageQuotaError(
            f"storage quota exceeded at S3 endpoint {endpoint} while {doing}{tail}; delete data "
            "you no longer need or ask the operator for a larger quota")
    if code in AUTH_CODES or (
        (code in {"AccessDenied", "403", "Forbidden"} or isinstance(err, PermissionError))
        and not credentials_ok()
    ):
        key = f" (access key {access_key})" if access_key else ""
        return StorageCredentialsError(
            f"S3 endpoint {endpoint} rejected the credentials{key} while {doing}{tail}; check "
            "WISEHUB_S3__ACCESS_KEY and WISEHUB_S3__SECRET_KEY or WISEHUB_S3__CREDENTIALS_FILE")
    if code in {"AccessDenied", "403", "Forbidden"} or isinstance(err, PermissionError):
        return StorageAccessDenied(
            f"access denied at S3 endpoint {endpoint} while {doing}{tail}; your credentials "
            "reach only private/<you>/, groups/<your group>/, projects/<your project>/ and "
            "read world/")
    return err
