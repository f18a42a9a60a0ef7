"""Reading reports back: side-by-side comparison of several reports and plots (matplotlib imported lazily)."""
