"""Every public URL and identifier badgeserver hands out, derived from BASE_URL alone."""

from __future__ import annotations

from dataclasses import dataclass

from badgeserver import did


@dataclass(frozen=True)
class Urls:
    """Public URLs under one BASE_URL (no trailing slash)."""

    base: str

    def issuer_did(self, slug: str) -> str:
        """The issuer's did:web identifier (DID-1): did:web:<host>:issuers:<slug>."""
        return did.did_web_from_url(self.base, f"issuers/{slug}")

    def issuer_page(self, slug: str) -> str:
        """The issuer's public profile page (and JSON)."""
        return f"{self.base}/issuers/{slug}"

    def achievement(self, slug: str, version: str) -> str:
        """The id (and page) of one microcredential version's Achievement."""
        return f"{self.base}/achievements/{slug}/v{version}"

    def stack_achievement(self, slug: str) -> str:
        """The id (and page) of a stack's Achievement."""
        return f"{self.base}/stacks/{slug}"

    def bundle_achievement(self, slug: str) -> str:
        """The id (and page) of a bundle's Achievement."""
        return f"{self.base}/bundles/{slug}"

    def image(self, image_id: int, extension: str) -> str:
        """A stored image (PNG or SVG)."""
        return f"{self.base}/images/{image_id}.{extension}"

    def credential(self, credential_id: str) -> str:
        """The credential's id and public page."""
        return f"{self.base}/credentials/{credential_id}"

    def status_list(self, issuer_slug: str, purpose: str, number: int) -> str:
        """A signed Bitstring Status List credential."""
        return f"{self.base}/status/{issuer_slug}/{purpose}/{number}"

    def verify_page(self) -> str:
        """The public verification page."""
        return f"{self.base}/verify"
