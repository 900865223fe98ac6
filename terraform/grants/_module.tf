# The module that holds the generated grants. Its name cannot clash with a request id.
terraform {
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
  }
}
