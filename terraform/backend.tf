# State lives in a versioned Cloud Storage bucket owned by the security team. The bucket is
# given at init time so the same module serves every installation:
#   terraform init -backend-config="bucket=<state bucket>"
terraform {
  backend "gcs" {
    prefix = "lapse/grants"
  }
}
