"""Reading, splitting, indexing and encoding tagged corpora."""
