"""Post-access review: audit log sources -> normalized events -> findings -> reports.

Sources (`file_source`, `logging_source`, `bigquery_source`) yield
`generator.core.audit_event.Event`s through `events.normalize`; `analysis` compares them with what
was granted; `report` writes the evidence.
"""
