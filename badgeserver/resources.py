"""Where the pinned data files (schemas/, contexts) live, installed or in a source checkout."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path


@cache
def schemas_dir() -> Path:
    """Return the folder holding the pinned contexts and JSON Schemas."""
    override = os.environ.get("BADGESERVER_SCHEMAS_DIR")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    packaged = here / "_schemas"  # a wheel carries schemas/ here
    if packaged.is_dir():
        return packaged
    return here.parent / "schemas"


@cache
def catalog_dir() -> Path:
    """Return the folder holding the bundled demo catalog and its images."""
    here = Path(__file__).resolve().parent
    packaged = here / "_catalog"  # a wheel carries catalog/ here
    if packaged.is_dir():
        return packaged
    return here.parent / "catalog"


DEMO_CATALOG = "utah-secondary-science.yaml"
