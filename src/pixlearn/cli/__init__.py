"""pixlearn.cli."""
