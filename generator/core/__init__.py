"""What every stage shares: the frozen values, errors, time, retries, the repository and git."""
