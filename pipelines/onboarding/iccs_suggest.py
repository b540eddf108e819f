"""ICCS codes for a national offence label, ranked with the classification's own definitions.

``suggest(label, reference_dir, k=3)`` compares a national label (Spanish, Portuguese or English, e.g.
*Homicidio doloso con arma de fuego*, *Lesão corporal seguida de morte*) with, for every ICCS code,

* its Spanish and English labels (``reference/iccs/iccs.csv``),
* its Spanish **inclusions** (``reference/iccs/iccs_notes.csv``, one term per ``;``/``,`` part),
* its Spanish **description** (weak evidence only),

and then applies its Spanish **exclusions**: when the label matches an exclusion term of a code
(*tentativa de homicidio intencional (0102)* is an exclusion of 0101) that code is penalised, and the
code the term names in parentheses (0102) is proposed with that reason. Exclusions a code inherits
(*aplicar todas las exclusiones enumeradas en 0103*) count as its own.

Text is normalised before comparison: accents, case, punctuation, stop words (es/pt/en), a few words of
national legal vocabulary rewritten into the ICCS's (``SYNONYMS``: *doloso* → *intencional*, *culposo* →
*culposo negligencia*, Portuguese *roubo* → *robo*, *furto* → *hurto* …), then Snowball stemming
(Spanish; ``snowballstemmer``). Words are compared exactly after stemming, or fuzzily for longer words
(``rapidfuzz``, ratio ≥ 85: typing errors, Portuguese spellings).

A phrase's score is the F1 of the two coverages, each word weighted by its rarity across all ICCS phrases
(IDF): how much of the national label the phrase explains, and how much of the phrase the label contains.
So *homicidio*, frequent in ICCS, decides less than *tentativa*, *culposo* or *motocicleta*. A code's score
is its best phrase (labels 1.0, inclusions 0.95), plus 0.1 × the share of the label found in its
description, minus the best matching exclusion when that match is ≥ ``EXCLUSION_MIN``. Ties prefer
non-residual codes, then the more specific code.

Every suggestion carries its reasons: ``matched_on`` (label_es, label_en, inclusion_es, exclusion_of) and
``matched`` (the ICCS text), and ``excluded_by`` when an exclusion lowered it. A suggestion is a starting
point for the reviewer, never a mapping (docs/ONBOARDING.md#suggestions).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import snowballstemmer
from rapidfuzz import fuzz, process

STOP = {
    # es
    "a", "al", "con", "de", "del", "e", "el", "en", "la", "las", "lo", "los", "o", "para", "por", "que", "se",
    "sin", "su", "sus", "u", "un", "una", "unas", "uno", "unos", "y", "otro", "otra", "otros", "otras", "forma",
    "formas", "acto", "actos", "tipo", "tipos", "cometido", "cometidos", "cometida", "cometidas", "demas",
    "contra", "delito", "delitos", "hecho", "hechos", "caso", "casos", "total", "mediante", "cualquier",
    "entre", "como", "ley", "articulo", "art", "codigo", "penal",
    # en
    "an", "and", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with", "other", "act", "acts",
    "against", "offence", "offences", "offense", "offenses", "crime", "crimes",
    # pt
    "da", "das", "do", "dos", "na", "nas", "no", "nos", "outros", "outras", "outro", "outra", "ao", "aos",
    "pelo", "pela", "em", "um", "uma", "seguida", "seguido",
}
# "sin" (without) carries meaning in "robo sin violencia": kept as a word of its own
KEEP = {"sin", "no", "non"}
STOP -= KEEP

# national legal vocabulary -> the words the Spanish ICCS uses (applied to normalised words, before stemming)
SYNONYMS = {
    "doloso": "intencional", "dolosa": "intencional", "dolosos": "intencional", "dolosas": "intencional",
    "voluntario": "intencional", "intencionales": "intencional",
    "culposo": "culposo negligencia", "culposa": "culposo negligencia", "culposos": "culposo negligencia",
    "culposas": "culposo negligencia", "imprudente": "negligencia", "imprudencial": "negligencia",
    "involuntario": "culposo", "tentado": "tentativa", "tentada": "tentativa", "frustrado": "tentativa",
    "intento": "tentativa", "intentado": "tentativa",
    "femicidio": "feminicidio", "femicidios": "feminicidio", "feminicidios": "feminicidio",
    "lesiones": "lesion", "lesion": "lesion", "lesao": "lesion", "lesoes": "lesion",
    "homicidios": "homicidio", "homicide": "homicidio",
    # Portuguese -> Spanish
    "roubo": "robo", "roubos": "robo", "furto": "hurto", "furtos": "hurto", "estupro": "violacion",
    "latrocinio": "robo homicidio", "tentativa": "tentativa", "corporal": "corporal", "morte": "muerte",
    "veiculo": "vehiculo", "veiculos": "vehiculo", "trafico": "trafico", "drogas": "droga",
    "ameaca": "amenaza", "sequestro": "secuestro", "extorsao": "extorsion", "estelionato": "fraude",
    # frequent national words for ICCS notions
    "motocicletas": "motocicleta vehiculo", "motocicleta": "motocicleta vehiculo", "moto": "motocicleta vehiculo", "automotor": "vehiculo motor",
    "automotores": "vehiculo motor", "autos": "automovil", "coche": "automovil", "casa": "vivienda",
    "habitacion": "vivienda", "domicilio": "vivienda", "residencia": "vivienda", "abuso": "agresion abuso",
    "narcomenudeo": "droga trafico posesion", "estupefacientes": "droga", "violencia": "violencia",
    "intrafamiliar": "violencia familia", "familiar": "familia",
}
LABEL_WEIGHT, INCLUSION_WEIGHT, INHERITED_WEIGHT = 1.0, 0.95, 0.9
LABEL_EN_WEIGHT = 0.9    # national labels are mostly Spanish or Portuguese; English labels are a fallback
HEAD_WEIGHT = 1.5        # the first word of a level names the offence ("Lesiones dolosas": lesiones)
RESIDUAL_FACTOR = 0.9    # "Otros actos de hurto" only when the label says "otros"
OTHER_WORDS = {"otro", "otra", "otros", "otras", "outros", "outras", "other", "demas"}
DESCRIPTION_BONUS = 0.10
EXCLUSION_MIN = 0.55     # an exclusion term counts when its match is at least this good
FUZZY_MIN = 85           # rapidfuzz ratio for two (stemmed, >= 5 letters) words to be the same word

_STEM = snowballstemmer.stemmer("spanish")
_CODE_REF = re.compile(r"\((\d{2,6})(?:[^)]*)\)")
_APPLY = re.compile(r"aplicar\s+tod[ao]s\s+las?\s+(inclusiones|exclusiones)\s+enumeradas\s+en\s+([\d\s,ya]+)", re.I)


def normalise(text: str) -> str:
    """Lower case, accents removed, everything but letters and digits turned into spaces."""
    t = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


@lru_cache(maxsize=50_000)
def _word(w: str) -> tuple[str, ...]:
    out = []
    for x in SYNONYMS.get(w, w).split():
        out.append(_STEM.stemWord(x))
    return tuple(out)


def tokens(text: str) -> tuple[str, ...]:
    """Normalised, stop words removed, synonyms applied, stemmed; order kept, duplicates removed."""
    seen: dict[str, None] = {}
    for w in normalise(text).split():
        if w in STOP or w.isdigit():
            continue
        for s in _word(w):
            if s not in STOP:
                seen.setdefault(s, None)
    return tuple(seen)


@lru_cache(maxsize=200_000)
def _sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if min(len(a), len(b)) < 5:
        return 0.0
    r = fuzz.ratio(a, b)
    return r / 100.0 if r >= FUZZY_MIN else 0.0


@dataclass(frozen=True)
class Phrase:
    code: str
    tokens: tuple[str, ...]
    text: str
    kind: str                  # label_es | label_en | inclusion_es | description_es | exclusion_es
    target: str | None = None  # for an exclusion: the code it names in parentheses, if any


@dataclass
class Index:
    meta: dict
    phrases: list[Phrase]
    descriptions: dict[str, Phrase]
    exclusions: dict[str, list[Phrase]]
    idf: dict[str, float]
    postings: dict[str, list[int]] | None = None   # word -> positions in ``phrases`` that contain it

    def near(self, t: str) -> list[str]:
        """The index's words that are ``t`` or fuzzily the same word."""
        out = [t] if t in self.postings else []
        if len(t) >= 5:
            out += [w for w, sc, _ in process.extract(t, self.long_words, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN,
                                                       limit=None) if w != t]
        return out

    @property
    def long_words(self) -> list[str]:
        if not hasattr(self, "_long"):
            self._long = [w for w in self.postings if len(w) >= 5]
        return self._long

    def w(self, t: str) -> float:
        return self.idf.get(t, self.max_idf)

    @property
    def max_idf(self) -> float:
        return max(self.idf.values()) if self.idf else 1.0


def _split_terms(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;]|,(?![^()]*\))", text or "") if p.strip()]


def _codes_in(spec: str, meta: dict) -> list[str]:
    """'01031 y 01032' -> both; '02011 a 02019' -> every code of that length between them."""
    nums = re.findall(r"\d{2,6}", spec)
    if " a " in f" {spec} " and len(nums) == 2 and len(nums[0]) == len(nums[1]):
        lo, hi = nums
        return [c for c in meta if len(c) == len(lo) and lo <= c <= hi]
    return [n for n in nums if n in meta]


@lru_cache(maxsize=4)
def build_index(reference_dir: str) -> Index:
    ref = Path(reference_dir)
    iccs = pd.read_csv(ref / "iccs" / "iccs.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    meta = {r["code"]: {"label_en": r["label_en"], "label_es": r["label_es"], "level": int(r["level"]),
                        "parent": r["parent_code"],
                        "is_residual": str(r.get("is_residual", "false")).lower() == "true"}
            for _, r in iccs.iterrows()}
    phrases: list[Phrase] = []
    for c, m in meta.items():
        phrases.append(Phrase(c, tokens(m["label_es"]), m["label_es"], "label_es"))
        phrases.append(Phrase(c, tokens(m["label_en"]), m["label_en"], "label_en"))
    descriptions: dict[str, Phrase] = {}
    own_exc: dict[str, list[Phrase]] = {}
    inherit: dict[str, list[str]] = {}
    inherit_inc: dict[str, list[str]] = {}
    notes = ref / "iccs" / "iccs_notes.csv"
    if notes.exists():
        n = pd.read_csv(notes, dtype=str, keep_default_na=False, encoding="utf-8")
        for _, r in n.iterrows():
            code = r["code"]
            if code not in meta:
                continue
            inc = r.get("inclusions_es", "")
            for m in _APPLY.finditer(inc):
                if m.group(1).lower() == "inclusiones":
                    inherit_inc.setdefault(code, []).extend(_codes_in(m.group(2), meta))
            for part in _split_terms(_APPLY.sub("", inc)):
                if normalise(part).startswith("aplicar"):
                    continue
                phrases.append(Phrase(code, tokens(part), part, "inclusion_es"))
            if r.get("description_es"):
                descriptions[code] = Phrase(code, tokens(r["description_es"]), r["description_es"], "description_es")
            exc = r.get("exclusions_es", "")
            for m in _APPLY.finditer(exc):
                if m.group(1).lower() == "exclusiones":
                    inherit.setdefault(code, []).extend(_codes_in(m.group(2), meta))
            for part in _split_terms(_APPLY.sub("", exc)):
                ref_code = _CODE_REF.search(part)
                target = ref_code.group(1) if ref_code and ref_code.group(1) in meta else None
                text = _CODE_REF.sub("", part).strip()
                if tokens(text):
                    own_exc.setdefault(code, []).append(Phrase(code, tokens(text), part, "exclusion_es", target))

    def all_exc(code: str, seen=()) -> list[Phrase]:
        out = list(own_exc.get(code, []))
        for parent in inherit.get(code, []):
            if parent not in seen:
                out += all_exc(parent, seen + (code,))
        return out

    exclusions = {c: [p for p in all_exc(c) if p.target != c] for c in meta}
    own_inc: dict[str, list[Phrase]] = {}
    for p in phrases:
        if p.kind == "inclusion_es":
            own_inc.setdefault(p.code, []).append(p)

    def child_inc(code: str, seen=()) -> list[Phrase]:
        out = []
        for child in inherit_inc.get(code, []):
            if child not in seen:
                out += own_inc.get(child, []) + child_inc(child, seen + (code,))
        return out

    for c in list(inherit_inc):   # a parent "applies all the inclusions of" its children: they are its own too
        phrases += [Phrase(c, p.tokens, p.text, "inclusion_es_of_" + p.code) for p in child_inc(c)]
    phrases = [p for p in phrases if p.tokens]
    df = Counter(t for p in phrases for t in set(p.tokens))
    n_ph = len(phrases)
    idf = {t: math.log(1 + n_ph / (1 + d)) for t, d in df.items()}
    postings: dict[str, list[int]] = {}
    for i, p in enumerate(phrases):
        for t in set(p.tokens):
            postings.setdefault(t, []).append(i)
    return Index(meta, phrases, descriptions, exclusions, idf, postings)


def _coverage(a: tuple[str, ...], b: tuple[str, ...], idx: Index, wa: dict | None = None) -> float:
    """IDF-weighted share of the words of ``a`` found in ``b`` (``wa``: extra weights of ``a``'s words)."""
    if not a or not b:
        return 0.0
    wa = wa or {}
    tot = sum(idx.w(t) * wa.get(t, 1.0) for t in a)
    got = sum(idx.w(t) * wa.get(t, 1.0) * max(_sim(t, u) for u in b) for t in a)
    return got / tot if tot else 0.0


def match(q: tuple[str, ...], p: tuple[str, ...], idx: Index, wq: dict | None = None) -> float:
    r, pr = _coverage(q, p, idx, wq), _coverage(p, q, idx)
    return 0.0 if r + pr == 0 else 2 * r * pr / (r + pr)


# national phrasing with a fixed ICCS meaning, rewritten on the whole normalised label: robbery "without
# violence" is theft (ICCS 0502, section 05), "with violence" is robbery (0401, section 04)
SIN_VIOLENCIA = re.compile(r"\bsin violencia\b")
CON_VIOLENCIA = re.compile(r"\bcon violencia\b")
ROBO = re.compile(r"\b(robo|robos|roubo|roubos)\b")
FIRST_SEGMENT = 0.35  # weight of the words of the first level of a path label "a > b > c" (the legal good)
# armed-conflict codes need the label to speak of a conflict (else "homicidio intencional", an inclusion
# of war crimes 110131, competes with 0101)
CONFLICT_CODES = ("1101", "0107")
CONFLICT_WORDS = {"conflicto", "conflictos", "guerra", "armado", "genocidio", "lesa", "humanidad", "war",
                  "conflict"}
CONFLICT_FACTOR = 0.8


def query(label: str) -> tuple[tuple[str, ...], dict[str, float]]:
    """The label's words and their weights. In a path label (``Tipo > Subtipo > Modalidad``, national
    hierarchies joined with ``>`` or ``|``) the first level (the legal good, the family) counts
    ``FIRST_SEGMENT``; repeated levels count once."""
    text = str(label or "")
    segs = [normalise(x) for x in re.split(r"\s*[>|]\s*", text) if normalise(x)]
    segs = list(dict.fromkeys(segs))
    whole = " ".join(segs)
    if SIN_VIOLENCIA.search(whole):
        segs = [SIN_VIOLENCIA.sub(" ", ROBO.sub("hurto", x)) for x in segs]
    elif CON_VIOLENCIA.search(whole):
        segs = [CON_VIOLENCIA.sub(" robo ", x) for x in segs]
    weights: dict[str, float] = {}
    for i, seg in enumerate(segs):
        w = FIRST_SEGMENT if i == 0 and len(segs) > 1 else 1.0
        for j, t in enumerate(tokens(seg)):
            weights[t] = max(weights.get(t, 0.0), w * (HEAD_WEIGHT if j == 0 else 1.0))
    return tuple(weights), weights


def suggest(label: str, reference_dir: Path, k: int = 3) -> list[dict]:
    """The ``k`` best ICCS codes for ``label``; each ``{iccs_code, label_es, label_en, score, matched,
    matched_on, excluded_by, reason}``. Empty when nothing matches at all."""
    idx = build_index(str(Path(reference_dir).resolve()))
    q, wq = query(label)
    if not q:
        return []
    meta = idx.meta
    words = set(normalise(label).split())
    other = bool(OTHER_WORDS & words)
    conflict = bool(CONFLICT_WORDS & words)
    weights = {"label_es": LABEL_WEIGHT, "label_en": LABEL_EN_WEIGHT, "inclusion_es": INCLUSION_WEIGHT}
    best: dict[str, tuple[float, Phrase]] = {}
    cand = sorted({i for t in q for w in idx.near(t) for i in idx.postings.get(w, ())})
    for p in (idx.phrases[i] for i in cand):   # only phrases sharing a word with the label can score
        s = match(q, p.tokens, idx, wq) * weights.get(p.kind, INHERITED_WEIGHT)
        if meta[p.code]["is_residual"] and not other:
            s *= RESIDUAL_FACTOR
        if p.code.startswith(CONFLICT_CODES) and not conflict:
            s *= CONFLICT_FACTOR
        if s > 0 and (p.code not in best or s > best[p.code][0]):
            best[p.code] = (s, p)
    # exclusions: a code whose exclusion term explains the label better than its own label and inclusions
    # do is lowered by that match, and the code the term names is proposed with it as the reason
    excluded: dict[str, tuple[float, Phrase]] = {}
    for code in list(best):
        for e in idx.exclusions.get(code, []):
            s = match(q, e.tokens, idx, wq)
            if s >= EXCLUSION_MIN and s > best[code][0] and (code not in excluded or s > excluded[code][0]):
                excluded[code] = (s, e)
    for code, (s, e) in excluded.items():
        if e.target and (e.target not in best or best[e.target][0] < s * INCLUSION_WEIGHT):
            best[e.target] = (s * INCLUSION_WEIGHT, Phrase(e.target, e.tokens, e.text, f"exclusion_of_{code}"))
    scored = []
    for code, (s, p) in best.items():
        d = idx.descriptions.get(code)
        bonus = DESCRIPTION_BONUS * _coverage(q, d.tokens, idx, wq) if d else 0.0
        pen = excluded[code][0] if code in excluded else 0.0
        scored.append((s + bonus - pen, code, p, excluded.get(code)))
    scored = [x for x in scored if x[0] > 0]
    meta = idx.meta
    scored.sort(key=lambda x: (-round(x[0], 6), meta[x[1]]["is_residual"], -meta[x[1]]["level"], x[1]))
    out = []
    for s, code, p, exc in scored[:k]:
        if p.kind.startswith("exclusion_of_"):
            kind, reason = "exclusion_of", f"{p.kind.removeprefix('exclusion_of_')} excludes {p.text!r}, classified here"
        elif p.kind.startswith("inclusion_es_of_"):
            kind, reason = "inclusion_es", f"inclusion_es of {p.kind.removeprefix('inclusion_es_of_')} {p.text!r}"
        else:
            kind, reason = p.kind, f"{p.kind} {p.text!r}"
        if exc:
            reason += f"; lowered: this code excludes {exc[1].text!r}"
        out.append({"iccs_code": code, "label_es": meta[code]["label_es"], "label_en": meta[code]["label_en"],
                    "score": round(min(max(s, 0.0), 1.0), 3), "matched": p.text, "matched_on": kind,
                    "excluded_by": exc[1].text if exc else None, "reason": reason})
    return out
