"""A request's life after validation: writing it, expiring it, and checking what is live."""
