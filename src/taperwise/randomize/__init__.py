"""taperwise.randomize."""
