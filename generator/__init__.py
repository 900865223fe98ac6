"""lapse: temporary, PCI DSS compliant production access on Google Cloud through pull requests."""
