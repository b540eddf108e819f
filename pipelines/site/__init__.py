"""The public data site: static pages in four languages built from the warehouse (issue 15)."""
