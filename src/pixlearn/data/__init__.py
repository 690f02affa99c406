"""pixlearn.data."""
