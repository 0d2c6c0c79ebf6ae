"""badgeserver: an Open Badges 3.0 issuing and verification service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; `config` overrides settings (base_url, database_url, keys_dir, ...)."""
    from badgeserver.web.app import build_app

    return build_app(config)
