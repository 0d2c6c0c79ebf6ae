"""Bitstring Status List credentials (STAT-4, STAT-5): build the unsigned list from its bits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from badgeserver import bitstring
from badgeserver.errors import InputError
from badgeserver.issuer.build import date_time_z
from badgeserver.ld.contexts import VC_V2

LIST_TYPE = "BitstringStatusListCredential"


def build_status_list(
    *,
    list_url: str,
    issuer_id: str,
    purpose: str,
    bits: bytes,
    valid_from: datetime,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """Return the unsigned BitstringStatusListCredential for `bits` (bit 0 = first entry)."""
    if len(bits) * 8 < bitstring.MIN_ENTRIES:
        raise InputError("A status list holds at least 131,072 entries.")
    subject: dict[str, Any] = {
        "id": f"{list_url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": bitstring.encode(bits),
    }
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    return {
        "@context": [VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_TYPE],
        "issuer": issuer_id,
        "validFrom": date_time_z(valid_from),
        "credentialSubject": subject,
    }
