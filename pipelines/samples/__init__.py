"""Inputs without the real files: the synthetic sample in the real formats (``synthetic``) and the
discovery of what `hemistat run` reads (``discovery``)."""
