"""Demo links of the Kon Tum 2024 index-improvement plan to index components."""
