terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  # >= 7.44.0: google_bigquery_dataset_iam_member accepts IAM conditions since 7.9.0 (7.0-7.8
  # refuse them at apply) and stops panicking on incomplete conditions in 7.44.0.
  # < 9.0.0: the 8.0 upgrade guide changes none of the *_iam_member or *_iam_audit_config
  # resources used here; a 9.x release is admitted only after reading its guide.
  # The exact release is fixed by .terraform.lock.hcl (docs/setup.md, 9).
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 7.44.0, < 9.0.0"
    }
  }
}

# Credentials come from Workload Identity Federation in GitHub Actions: a read-only identity
# for plans on pull requests, an IAM-admin identity for apply in the `production` environment.
provider "google" {}
