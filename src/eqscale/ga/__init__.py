"""ga layer."""
