"""Issuing: build an unsigned credential from records, sign it, compose stacks and bundles."""
