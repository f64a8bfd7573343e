"""scaling layer."""
