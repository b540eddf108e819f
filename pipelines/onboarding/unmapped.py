"""Onboarding a new national format without code: which national codes lack a crosswalk row, and which
ICCS codes they probably are.

* ``suggest_iccs(label, reference_dir, k=3)`` ranks ICCS codes with the classification's own definitions:
  Spanish/English labels, Spanish inclusions and descriptions, and the exclusion lists, which lower the
  code that excludes the label and propose the code the exclusion names (``pipelines/onboarding/iccs_suggest.py``;
  docs/ONBOARDING.md#suggestions). Each suggestion says why. A suggestion is a starting point for the
  reviewer, never a mapping: the crosswalk row still needs a relation and a rationale
  (reference/crosswalks/README.md).
* ``suggest_iccs_by_label(label, reference_dir, k=3)`` is the former method, label similarity alone (labels
  es/en and Spanish inclusions, Dice over fuzzily matched words); kept to measure the new one against it
  (tests/e2e/test_onboarding.py).
* ``unmapped_codes(settings, source_id, file)`` runs the source's adapter on a file (nothing is stored)
  and lists every national code the source's crosswalk does not map, with its label, number of cells,
  first line in the file and the top suggestions. ``hemistat doctor --file F --source S`` prints it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

STOP = {
    # es
    "a", "al", "con", "de", "del", "e", "el", "en", "la", "las", "lo", "los", "o", "para", "por", "que", "se",
    "sin", "su", "sus", "u", "un", "una", "unas", "uno", "unos", "y", "otro", "otra", "otros", "otras", "forma",
    "formas", "acto", "actos", "tipo", "tipos", "cometido", "cometidos", "cometida", "cometidas", "demas",
    "contra", "delito", "delitos", "hecho", "hechos", "caso", "casos", "total",
    # en
    "an", "and", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with", "other", "act", "acts",
    "against", "offence", "offences", "offense", "offenses", "crime", "crimes",
    # pt (a few, for Brazil-style labels)
    "da", "das", "do", "dos", "na", "nas", "no", "nos", "outros", "outras",
}
# words that carry meaning although short or frequent
KEEP = {"no", "non"}
STOP -= KEEP


def normalise(text: str) -> str:
    """Lower case, accents removed, everything but letters and digits turned into spaces."""
    t = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def _stem(w: str) -> str:
    if len(w) > 5 and w.endswith("ones"):       # lesiones -> lesion, violaciones -> violacion
        return w[:-2]
    if len(w) > 4 and w.endswith("es") and w[-3] not in "aeiou":  # menores -> menor, bienes -> bien
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):   # homicidios -> homicidio, drogas -> droga
        return w[:-1]
    return w


def tokens(text: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in normalise(text).split() if w not in STOP and not w.isdigit())


@lru_cache(maxsize=200_000)
def _word_sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if min(len(a), len(b)) < 4:
        return 0.0
    if len(a) >= 5 and len(b) >= 5 and (a.startswith(b) or b.startswith(a)):
        return 0.9
    sm = difflib.SequenceMatcher(None, a, b)
    if sm.real_quick_ratio() < 0.8 or sm.quick_ratio() < 0.8:
        return 0.0
    r = sm.ratio()
    return r if r >= 0.8 else 0.0


def _dice(q: tuple[str, ...], lab: tuple[str, ...]) -> float:
    if not q or not lab:
        return 0.0
    matched = sum(max(_word_sim(w, x) for x in lab) for w in q)
    return 2.0 * matched / (len(q) + len(lab))


@dataclass(frozen=True)
class _Phrase:
    code: str
    tokens: tuple[str, ...]
    text: str
    weight: float
    kind: str          # label_es | label_en | inclusion_es


@lru_cache(maxsize=4)
def _index(reference_dir: str) -> tuple[tuple[_Phrase, ...], dict]:
    ref = Path(reference_dir)
    iccs = pd.read_csv(ref / "iccs" / "iccs.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    meta = {r["code"]: {"label_en": r["label_en"], "label_es": r["label_es"], "level": int(r["level"]),
                        "is_residual": str(r.get("is_residual", "false")).lower() == "true"}
            for _, r in iccs.iterrows()}
    phrases = []
    for c, m in meta.items():
        phrases.append(_Phrase(c, tokens(m["label_es"]), m["label_es"], 1.0, "label_es"))
        phrases.append(_Phrase(c, tokens(m["label_en"]), m["label_en"], 1.0, "label_en"))
    notes = ref / "iccs" / "iccs_notes.csv"
    if notes.exists():
        n = pd.read_csv(notes, dtype=str, keep_default_na=False, encoding="utf-8")
        for code, inc in zip(n["code"], n.get("inclusions_es", pd.Series([""] * len(n)))):
            if code not in meta:
                continue
            for part in re.split(r"[;,]", inc or ""):
                part = part.strip()
                if not part or normalise(part).startswith("aplicar todas"):
                    continue
                phrases.append(_Phrase(code, tokens(part), part, 0.9, "inclusion_es"))
    return tuple(p for p in phrases if p.tokens), meta


def suggest_iccs(label: str, reference_dir: Path, k: int = 3) -> list[dict]:
    """The ``k`` best ICCS codes for ``label`` by the ICCS definitions (labels, inclusions, exclusions,
    descriptions): ``{iccs_code, label_es, label_en, score, matched, matched_on, excluded_by, reason}``
    (``pipelines.onboarding.iccs_suggest.suggest``)."""
    from pipelines.onboarding.iccs_suggest import suggest

    return suggest(label, reference_dir, k=k)


def suggest_iccs_by_label(label: str, reference_dir: Path, k: int = 3) -> list[dict]:
    """Former method: the ``k`` ICCS codes whose labels (es/en) or Spanish inclusions are most similar to
    ``label``.

    Each suggestion: ``{iccs_code, label_es, label_en, score (0-1), matched (the phrase that matched),
    matched_on}``. Ties prefer non-residual codes, then higher (more general) levels. Empty when nothing
    is similar at all."""
    phrases, meta = _index(str(Path(reference_dir).resolve()))
    q = tokens(label)
    if not q:
        return []
    best: dict[str, tuple[float, _Phrase]] = {}
    for p in phrases:
        s = _dice(q, p.tokens) * p.weight
        if s > 0 and (p.code not in best or s > best[p.code][0]):
            best[p.code] = (s, p)
    ranked = sorted(best.items(), key=lambda kv: (-round(kv[1][0], 6), meta[kv[0]]["is_residual"],
                                                  meta[kv[0]]["level"], kv[0]))
    return [{"iccs_code": c, "label_es": meta[c]["label_es"], "label_en": meta[c]["label_en"],
             "score": round(s, 3), "matched": p.text, "matched_on": p.kind}
            for c, (s, p) in ranked[:k]]


def unmapped_codes(settings, source_id: str, file, k: int = 3) -> pd.DataFrame:
    """National codes in ``file`` (read with the source's spec; nothing stored) that the source's
    crosswalk does not map: ``national_code, national_label, cells, first_line, suggestions``.

    Raises ``SubmissionError`` when the file cannot be read with the spec (the problems name file,
    line and column) and ``KeyError`` for an unknown source."""
    from pipelines.adapters import adapt_file, load_spec
    from pipelines.harmonise import reference as ref

    spec = load_spec(source_id, settings.reference_dir)
    path = Path(file)
    table, _ = adapt_file(path, spec, submission_id="onboarding", file_name=path.name,
                          allowed_countries=set(ref.countries(settings.reference_dir)["iso3"]))
    try:
        known = set(ref.crosswalk(settings.reference_dir, spec.crosswalk)["national_code"].dropna())
    except FileNotFoundError:
        known = set()
    cols = ["national_code", "national_label", "cells", "first_line", "suggestions"]
    miss = table[~table["national_code"].isin(known)]
    if miss.empty:
        return pd.DataFrame(columns=cols)
    g = (miss.groupby("national_code", sort=False)
         .agg(national_label=("national_label", "first"), cells=("line", "size"), first_line=("line", "min"))
         .reset_index().sort_values("first_line", kind="stable").reset_index(drop=True))
    g["cells"] = g["cells"].astype("int64")
    g["first_line"] = g["first_line"].astype("int64")
    g["suggestions"] = [suggest_iccs(lab if isinstance(lab, str) and lab.strip() else code,
                                     settings.reference_dir, k=k)
                        for code, lab in zip(g["national_code"], g["national_label"])]
    return g[cols]


def format_unmapped(df: pd.DataFrame, *, crosswalk: str | None = None, total_codes: int | None = None) -> str:
    """Human-readable listing for ``hemistat doctor``: one block per unmapped code, each suggestion with
    its reason; the listing names the guide's sections that fix it."""
    from pipelines.docs_ref import see

    where = f"reference/crosswalks/{crosswalk}.csv" if crosswalk else "the crosswalk"
    head = (f"{len(df)} national code(s)" + (f" of {total_codes}" if total_codes else "") + f" not in {where} "
            f"({see('crosswalk')})")
    lines = [head]
    for r in df.itertuples(index=False):
        lab = f" ({r.national_label})" if isinstance(r.national_label, str) and r.national_label != r.national_code \
            else ""
        lines.append(f"    {r.national_code}{lab}: {r.cells} cell(s), first at line {r.first_line}")
        if r.suggestions:
            for i, s in enumerate(r.suggestions, 1):
                why = s.get("reason") or f"matched {s['matched_on']}: {s['matched']!r}"
                lines.append(f"        {i}. {s['iccs_code']}  {s['label_es']} / {s['label_en']}  "
                             f"(score {s['score']:.2f}; {why})")
        else:
            lines.append("        no ICCS label, inclusion or exclusion matches: see reference/iccs/iccs.csv, "
                         f"reference/iccs/iccs_notes.csv and the ICCS manual ({see('suggestions')})")
    lines.append("    add one row per code (national_code,national_label,iccs_code,relation,weight,valid_from,"
                 f"valid_to,rationale); see reference/crosswalks/README.md and {see('crosswalk').removeprefix('see ')}")
    return "\n".join(lines)
