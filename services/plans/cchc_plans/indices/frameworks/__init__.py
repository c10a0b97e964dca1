"""Index framework files (YAML), loaded at every start when missing."""
