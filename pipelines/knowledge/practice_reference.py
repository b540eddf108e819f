"""The reference data good-practice records are checked against, read once per process (re-read when a file
changes): the record schema, the closed vocabularies, the common evidence scale with each rating body's mapping
and the design rules, the cross-language topic thesaurus, ICCS codes and the countries.

Everything is under ``<reference_dir>/practices/`` except ICCS (``reference/iccs/iccs.csv``) and the OAS member
states (``reference/countries/oas_members.csv``); countries outside the OAS that seed records come from
``practices/countries_other.csv`` (ISO 3166-1, names from CLDR through Babel).
"""

from __future__ import annotations

import csv
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines import yamlio
from pipelines.i18n.languages import LANGUAGES as LANGS


@dataclass(frozen=True)
class PracticeReference:
    folder: Path
    schema: dict
    vocab: dict                      # name -> {key: {lang: label}}
    scale: dict                      # evidence_scale.yaml as read
    thesaurus: dict                  # topic -> {lang: [terms]}
    iccs: dict                       # code -> {"en": label, "es": label}
    countries: dict                  # iso3 -> {lang: name}
    oas_members: frozenset = field(default_factory=frozenset)

    # ---- evidence -------------------------------------------------------------------------------------------
    def rating_level(self, body: str, rating: str, detail: str | None = None) -> tuple[bool, int | None]:
        """(known, level) of a body's rating: ``known`` False when the body or rating is not in the scale."""
        b = self.scale["bodies"].get(body)
        if b is None:
            return False, None
        table = b["ratings"]
        for key in (f"{rating}|{detail or ''}", f"{rating}|"):
            if key in table:
                return True, table[key]
        return False, None

    def level_label(self, level: int | None, lang: str) -> str:
        entry = self.scale["levels"].get(level) if level is not None else self.scale["not_rated"]
        return entry.get(lang) or entry["en"]

    def evidence(self, record: dict) -> dict:
        """The record's place on the common scale: its first rating that maps to a level (the rating bodies are
        listed in the order the reviewer trusts them), else not rated. Returns level, label (en), body, rating."""
        for r in record.get("ratings") or []:
            known, level = self.rating_level(r["body"], r["rating"], r.get("detail"))
            if known and level is not None:
                return {"level": level, "key": self.scale["levels"][level]["key"], "body": r["body"],
                        "rating": r["rating"] + (f" ({r['detail']})" if r.get("detail") else "")}
        return {"level": None, "key": "not_rated", "body": None, "rating": None}

    def label(self, vocab: str, key: str, lang: str) -> str:
        entry = self.vocab.get(vocab, {}).get(key)
        return (entry.get(lang) or entry["en"]) if entry else key

    def topic_label(self, topic: str, lang: str) -> str:
        terms = self.thesaurus.get(topic, {}).get(lang) or self.thesaurus.get(topic, {}).get("en") or [topic]
        return terms[0]

    def country_name(self, iso3: str | None, lang: str) -> str:
        if not iso3:
            return ""
        names = self.countries.get(iso3) or {}
        return names.get(lang) or names.get("en") or iso3


def _signature(folder: Path) -> tuple:
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.json")) + sorted(folder.glob("*.csv"))
    files += [folder.parent / "iccs" / "iccs.csv", folder.parent / "countries" / "oas_members.csv"]
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.exists())


def load_reference(reference_dir: Path) -> PracticeReference:
    folder = (Path(reference_dir) / "practices").resolve()
    return _load(folder, _signature(folder))


@functools.lru_cache(maxsize=8)
def _load(folder: Path, signature: tuple) -> PracticeReference:
    def y(name: str) -> dict:
        path = folder / name
        try:
            return yamlio.load(path.read_text("utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc

    iccs = {}
    with open(folder.parent / "iccs" / "iccs.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            iccs[row["code"]] = {"en": row["label_en"], "es": row["label_es"]}
    countries, oas = {}, set()
    with open(folder.parent / "countries" / "oas_members.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            countries[row["iso3"]] = {lang: row[f"name_{lang}"] for lang in LANGS}
            oas.add(row["iso3"])
    other = folder / "countries_other.csv"
    if other.exists():
        with open(other, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                countries[row["iso3"]] = {lang: row[f"name_{lang}"] for lang in LANGS}
    scale = y("evidence_scale.yaml")
    scale["levels"] = {int(k): v for k, v in scale["levels"].items()}
    thesaurus = y("thesaurus.yaml").get("topics") or {}
    for topic, terms in thesaurus.items():
        missing = [lang for lang in LANGS if not terms.get(lang)]
        if missing:
            raise ValueError(f"{folder / 'thesaurus.yaml'}: topic {topic!r} has no terms in {missing}")
    return PracticeReference(folder=folder, schema=json.loads((folder / "schema.json").read_text("utf-8")),
                             vocab=y("vocabularies.yaml"), scale=scale, thesaurus=thesaurus, iccs=iccs,
                             countries=countries, oas_members=frozenset(oas))
