"""taperwise.store."""
