"""Real parts for tests: the fake Bot API and feed server on 127.0.0.1, harnesses, the CLI environment, evaluation."""
