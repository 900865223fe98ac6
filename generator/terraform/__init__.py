"""Requests -> Terraform and back: rendering, reading HCL, the grants folder, CEL conditions."""
