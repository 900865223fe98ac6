# Audit logs for every project, folder and organization that temporary access can reach
# (PCI DSS 10.2.1). Admin Activity logs are always on; Data Access logs are off by default.
# All three Data Access types are required: reading IAM policies, service accounts, keys and
# resource metadata is ADMIN_READ, reading data is DATA_READ. `lapse validate` refuses any
# grant on a scope missing from this file (LAPSE260) or exempting the grantee (LAPSE261), and
# any config here in a target's scope without all three types (LAPSE263). Keep no
# exempted_members here. Every config is listed in module "grants".depends_on (grants.tf,
# LAPSE264), so no apply creates a grant before its logging is on.

resource "google_project_iam_audit_config" "pci_prod_payments" {
  project = "pci-prod-payments"
  service = "allServices"

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}

resource "google_project_iam_audit_config" "pci_prod_analytics" {
  project = "pci-prod-analytics"
  service = "allServices"

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}

resource "google_project_iam_audit_config" "stg_payments_cloudsql" {
  project = "stg-payments"
  service = "cloudsql.googleapis.com"

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}

resource "google_project_iam_audit_config" "stg_payments_iam" {
  project = "stg-payments"
  service = "iam.googleapis.com"

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}

resource "google_folder_iam_audit_config" "staging_folder" {
  folder  = "folders/204518736091"
  service = "allServices"

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}

resource "google_organization_iam_audit_config" "organization" {
  org_id  = "618305524870"
  service = "allServices"

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}
