"""The Flask application factory: settings, services, blueprints, error handlers, headers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask import Flask, Response

from badgeserver.config import load_settings
from badgeserver.web import problems
from badgeserver.web.services import EXTENSION, build_services


def credit(value: Decimal | float | str) -> str:
    """A credit amount without trailing zeros: 0.50 -> 0.5, 1.00 -> 1."""
    number = Decimal(str(value)).normalize()
    return format(number, "f")


def plain_text(value: str) -> str:
    """Markdown emphasis markers dropped, for showing catalog text as plain prose."""
    return re.sub(r"(\*\*|__)(.+?)\1", r"\2", value)


def build_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a configured app; nothing is created at import time."""
    overrides = dict(config or {})
    clock = overrides.pop("clock", None)
    settings = load_settings(overrides)
    app = Flask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    # A request carries at most one upload: a badge to verify or an evidence file, with a little form.
    largest = max(settings.max_upload_bytes, settings.max_evidence_bytes)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=largest + 64 * 1024)
    app.extensions[EXTENSION] = build_services(settings, clock)

    from badgeserver.web import account, api, auth, public, staff, verify

    app.url_map.converters["slug"] = public.SlugConverter
    app.register_blueprint(public.bp)
    app.register_blueprint(verify.bp)
    app.register_blueprint(api.bp)
    problems.register(app)
    auth.init_app(app, settings)  # session cookie, CSRF check, sign-in views, template helpers
    app.register_blueprint(account.bp)
    app.register_blueprint(staff.bp)
    from badgeserver.web import api_v1, api_v1_staff, educator, program_staff, reviewer, staff_credentials

    for blueprint in (
        *(educator.bp, reviewer.bp, program_staff.bp, staff_credentials.bp, api_v1.bp, api_v1_staff.bp),
    ):
        app.register_blueprint(blueprint)
    from badgeserver.web import api_v1_sharing, share, sharing_settings

    for blueprint in (share.bp, sharing_settings.bp, api_v1_sharing.bp):  # card, QR, oEmbed, profiles
        app.register_blueprint(blueprint)
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    app.add_template_filter(credit, "credit")
    app.add_template_filter(plain_text, "plain")

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
            )
        return response

    return app
