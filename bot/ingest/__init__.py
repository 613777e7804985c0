"""Ingest: feed URLs in → fetched (SSRF-guarded), decoded, parsed, normalized, deduplicated, classified articles stored once."""
