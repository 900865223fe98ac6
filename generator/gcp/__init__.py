"""Google Cloud IAM: the roles lock and its sync, and live allow policies."""
