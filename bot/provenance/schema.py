"""Base of the attestation's JSON models: camelCase on the wire, strict, frozen, closed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    """A model of attestation JSON: ``snake_case`` in Python, ``camelCase`` in JSON.

    Strict (no type coercion), frozen and ``extra="forbid"``: a document that parses is exactly
    one mendbot could have written. Serialise with ``model_dump(mode="json", by_alias=True)``.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
    )
