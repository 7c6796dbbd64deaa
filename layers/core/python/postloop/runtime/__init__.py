"""What the Lambda handlers share: settings, observability and dependency wiring."""
