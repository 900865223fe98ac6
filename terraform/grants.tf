# Every file in grants/ is written by `lapse render` from one request in requests/.
# depends_on: every audit config in audit_logging.tf is in place before any grant is created,
# so access is never usable unlogged, even within one apply (LAPSE264 keeps this list whole).
module "grants" {
  source = "./grants"

  depends_on = [
    google_project_iam_audit_config.pci_prod_payments,
    google_project_iam_audit_config.pci_prod_analytics,
    google_project_iam_audit_config.stg_payments_cloudsql,
    google_project_iam_audit_config.stg_payments_iam,
    google_folder_iam_audit_config.staging_folder,
    google_organization_iam_audit_config.organization,
  ]
}
