"""MLflow tracking, kept apart from computing: what each run holds as plain data (:mod:`.runs`),
the direct database path (:mod:`.sql`) and the client (:mod:`.mlflow_tracker`)."""
