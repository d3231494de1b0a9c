"""taperwise.simulate."""
