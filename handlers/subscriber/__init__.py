"""A subscriber's commands: /start, /topics, /countries, /schedule, /timezone, /quiet, /rule, /digest, /search, /settings."""
