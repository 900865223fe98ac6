terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
  }
}

# Credentials come from Workload Identity Federation in GitHub Actions: a read-only identity
# for plans on pull requests, an IAM-admin identity for apply in the `production` environment.
provider "google" {}
