"""GitHub: the API client, approval verification and the CODEOWNERS section."""
