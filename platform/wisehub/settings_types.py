"""Field types shared by the platform settings and the hub settings.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(CommaList).validate_python(" lab, astro101 ,")
['lab', 'astro101']
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_settings import NoDecode


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [item for item in (part.strip() for part in value.split(",")) if item]
    return value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]
"""A list of names, given as a list or, in an environment variable, comma-separated."""
