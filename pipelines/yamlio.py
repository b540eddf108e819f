"""Reading YAML: PyYAML's safe loader on libyaml (C) where the wheel has it, else the pure-Python one.

The same documents give the same Python values either way (the constructors are PyYAML's safe ones);
libyaml only parses faster — about ten times on the practice records and source specs, which every
publication and every portal start used to spend seconds reading. A document libyaml refuses is parsed
again by the pure-Python parser, so the error a user reads is the same as before, with its line, column
and the offending line quoted (libyaml's marks are coarser and quote nothing)."""

from __future__ import annotations

import yaml

FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def load(text: str | bytes):
    """``yaml.safe_load(text)``, on libyaml when available; errors as ``yaml.safe_load`` gives them."""
    if FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=FAST_LOADER)  # noqa: S506 - libyaml's safe loader
        except yaml.YAMLError:
            pass          # the pure-Python parser below raises the error with its better message
    return yaml.safe_load(text)
