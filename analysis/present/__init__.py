"""present package."""
