"""Publication: one comparable value per key, coverage, regional aggregates, numbered releases and their
changelog, exports in the formats the field exchanges (issue 15)."""
