"""taperwise.signals."""
