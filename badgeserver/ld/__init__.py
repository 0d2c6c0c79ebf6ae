"""Closed-world JSON-LD: pinned contexts, a loader that refuses every other URL, safe canonicalization."""
