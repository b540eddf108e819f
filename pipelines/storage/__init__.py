"""Immutable landing of submissions, atomic Parquet writes, atomic warehouse releases."""
