"""Data Integrity proofs (eddsa-rdfc-2022, legacy Ed25519Signature2020) and Multikey encoding."""
