"""The web face: public pages and documents, the verifier page and API, the OpenAPI document."""
