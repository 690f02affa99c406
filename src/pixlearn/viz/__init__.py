"""pixlearn.viz."""
