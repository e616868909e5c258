"""Reference data shared by the generator and the matcher."""
