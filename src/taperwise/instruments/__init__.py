"""taperwise.instruments."""
