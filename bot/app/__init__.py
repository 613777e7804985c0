"""The composition root: settings → database → repositories → services, the jobs, the polling entry point, the CLI."""
