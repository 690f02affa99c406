"""pixlearn.io."""
