"""Verification: any input (JSON, baked PNG/SVG, URL) to one ordered report.

verify/ imports no issuer, program, store or Flask code.
"""
