"""badgeserver: an Open Badges 3.0 issuing and verification service."""

__version__ = "0.1.0"
