"""Who is calling: the App Service authentication (Easy Auth) principal, when the platform provides one."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

NAME_CLAIMS = ("name", "preferred_username", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")


def principal(header: str | None) -> dict[str, Any] | None:
    """The decoded ``x-ms-client-principal`` header (base64 JSON), or None when absent or malformed."""
    if not header:
        return None
    try:
        data = json.loads(base64.b64decode(header, validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def principal_name(header: str | None) -> str | None:
    data = principal(header)
    if data is None:
        return None
    if isinstance(data.get("userDetails"), str):
        return data["userDetails"]
    name_type = data.get("name_typ")
    for claim in data.get("claims") or []:
        if isinstance(claim, dict) and (claim.get("typ") == name_type or claim.get("typ") in NAME_CLAIMS):
            value = claim.get("val")
            if isinstance(value, str):
                return value
    return None
