# The module that holds the generated grants. Its name cannot clash with a request id.
# The constraint repeats the root module's (terraform/versions.tf); keep the two equal.
terraform {
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.44.0, < 9.0.0"
    }
  }
}
