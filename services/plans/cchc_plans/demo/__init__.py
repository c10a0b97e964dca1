"""Demo data shipped with the plans service: the org-unit trees the shared plans name."""
