"""Which input files `hemistat run` submits: the real files in the shared folder when present,
else a deterministic synthetic sample in the same national formats."""

from __future__ import annotations

from pathlib import Path

from pipelines.specs import load_all_specs
from pipelines.settings import Settings


def real_inputs(settings: Settings) -> list[tuple[str, Path]]:
    out = []
    for sid, spec in sorted(load_all_specs(settings.reference_dir, strict=False).items()):
        folder = settings.shared_dir / (spec.sample_dir or sid)
        if not folder.is_dir():
            continue
        seen = set()
        for pattern in spec.files:
            for p in sorted(folder.glob(pattern)):
                if p.is_file() and p not in seen:
                    seen.add(p)
                    out.append((sid, p))
    return out


def synthetic_inputs(settings: Settings) -> list[tuple[str, Path]]:
    from pipelines.samples.synthetic import generate_sample

    out_dir = settings.data_dir / "samples"
    written = generate_sample(out_dir)
    specs = load_all_specs(settings.reference_dir, strict=False)
    return [(sid, p) for sid, paths in sorted(written.items()) if sid in specs for p in paths]


def discover(settings: Settings) -> tuple[str, list[tuple[str, Path]]]:
    if settings.use_real_data():
        return "real", real_inputs(settings)
    return "synthetic", synthetic_inputs(settings)
