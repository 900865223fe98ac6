"""Request and policy files -> problems and values: YAML loading, schemas, rules, reporters."""
