"""The microcredential program's rules: catalog, submissions, reviews, earning, issuing."""
