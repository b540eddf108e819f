"""Ranked, accent-insensitive, language-aware search of the good practices, with tantivy.

Why tantivy: DuckDB's full-text extension cannot be downloaded on the Network's machines, and the search must
work the same in the embedded default (SQLite portal, DuckDB warehouse) and in the PostgreSQL deployment.
tantivy is a maintained full-text engine (BM25 ranking, Snowball stemmers, ASCII folding) that runs inside the
Python process, independent of any database: the index is built from the published records, so it is the same
whatever database holds the portal.

How a query is answered
* every record is indexed three times, with a Spanish, an English and a Portuguese analyzer (simple tokenizer,
  lowercase, ASCII folding, Snowball stemmer): all its titles, summaries, findings, city and country names, its
  ICCS labels and the terms of its topic tags in the four languages (``reference/practices/thesaurus.yaml``);
  titles go to their own, boosted fields;
* the query text goes through the same three analyzers, so "violencia", "violência" and "violence" meet on
  the stem ``violenc`` and "prevencion" finds "prevención";
* a phrase of the thesaurus found in the query ("violencia juvenil", "violência juvenil", "youth violence")
  adds its topic tag, so records tagged with it are found whatever their language, and ranked higher;
* filters are exact: country, ICCS problem (a code and everything under it), minimum evidence level on the
  common scale, prevention level or approach, target population, line of action, language of the material.

The query is never parsed as tantivy syntax: it is analysed into terms and the query is built from them, so
no user text becomes query syntax. The index lives in memory and is rebuilt when a record file changes
(``practices.signature``); at a few hundred practices that takes milliseconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import tantivy

from pipelines.knowledge.practice_reference import LANGS, PracticeReference, load_reference
from pipelines.knowledge.practices import load_records, signature
from pipelines.settings import Settings

STEMMED = {"es": "spanish", "en": "english", "pt": "portuguese"}
BOOST_TITLE = 2.0
BOOST_TOPIC = 3.0
BOOST_PHRASE = 1.5
_LOCK = threading.Lock()
_CACHE: dict = {}


def analyzer(lang: str) -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.stemmer(STEMMED[lang]))
            .build())


@dataclass
class Hit:
    practice_id: str
    score: float
    record: dict
    topics_matched: list[str] = field(default_factory=list)


@dataclass
class Filters:
    country: str | None = None
    iccs: str | None = None
    min_evidence: int | None = None
    prevention: str | None = None
    population: str | None = None
    line: str | None = None
    lang: str | None = None

    def active(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


class PracticeIndex:
    def __init__(self, records: list[dict], ref: PracticeReference):
        self.ref = ref
        self.records = {r["practice_id"]: r for r in records}
        self.analyzers = {lang: analyzer(lang) for lang in STEMMED}
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("practice_id", stored=True, tokenizer_name="raw")
        for lang in STEMMED:
            sb.add_text_field(f"text_{lang}", tokenizer_name=f"practice_{lang}")
            sb.add_text_field(f"title_{lang}", tokenizer_name=f"practice_{lang}")
        for name in ("topic", "country", "iccs", "prevention", "population", "line", "lang"):
            sb.add_text_field(name, tokenizer_name="raw")
        sb.add_integer_field("evidence", indexed=True, fast=True)
        self.schema = sb.build()
        self.index = tantivy.Index(self.schema)
        for lang, a in self.analyzers.items():
            self.index.register_tokenizer(f"practice_{lang}", a)
        writer = self.index.writer(heap_size=15_000_000, num_threads=1)
        for rec in records:
            writer.add_document(self._document(rec))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        # the thesaurus, analysed: (lang, topic, tokens) for every term in every language, per analyzer
        self.phrases = []
        for topic, by_lang in ref.thesaurus.items():
            for terms in by_lang.values():
                for term in terms:
                    for lang, a in self.analyzers.items():
                        toks = a.analyze(term)
                        if toks:
                            self.phrases.append((lang, topic, tuple(toks)))

    # ---- indexing ---------------------------------------------------------------------------------------------
    def _texts(self, rec: dict) -> tuple[str, str]:
        ref = self.ref
        parts = []
        for block in ("summary", "mechanism", "notes"):
            parts += [v for v in (rec.get(block) or {}).values() if v]
        for s in rec.get("studies") or []:
            parts.append(s.get("title") or "")
            parts += [v for v in (s.get("finding") or {}).values() if v]
        parts.append(rec.get("city") or "")
        parts += [ref.country_name(rec.get("country_iso3"), lang) for lang in LANGS]
        for code in rec.get("iccs_codes") or []:
            parts += list((ref.iccs.get(code) or {}).values())
        for topic in rec.get("topics") or []:
            for terms in ref.thesaurus.get(topic, {}).values():
                parts += terms
        for vocab, keys in (("target_populations", rec.get("target_populations")), ("approach", rec.get("approach")),
                            ("setting", rec.get("setting"))):
            for k in keys or []:
                parts += [ref.label(vocab, k, lang) for lang in LANGS]
        titles = " . ".join(v for v in rec["title"].values() if v)
        return titles, " . ".join(p for p in parts if p)

    def _document(self, rec: dict) -> tantivy.Document:
        titles, text = self._texts(rec)
        doc = tantivy.Document()
        doc.add_text("practice_id", rec["practice_id"])
        for lang in STEMMED:
            doc.add_text(f"title_{lang}", titles)
            doc.add_text(f"text_{lang}", titles + " . " + text)
        for topic in rec.get("topics") or []:
            doc.add_text("topic", topic)
        doc.add_text("country", rec.get("country_iso3") or "INT")
        for code in rec.get("iccs_codes") or []:
            for n in range(2, len(code) + 1):           # 0101 is found by 01 and by 0101
                doc.add_text("iccs", code[:n])
        for k in list(rec.get("prevention_level") or []) + list(rec.get("approach") or []):
            doc.add_text("prevention", k)
        for k in rec.get("target_populations") or []:
            doc.add_text("population", k)
        doc.add_text("line", rec.get("line_of_action") or "")
        for k in rec.get("languages") or []:
            doc.add_text("lang", k)
        level = self.ref.evidence(rec)["level"]
        doc.add_integer("evidence", -1 if level is None else int(level))
        return doc

    # ---- querying ---------------------------------------------------------------------------------------------
    def topics_in(self, text: str) -> list[str]:
        """Topic tags whose thesaurus phrase occurs in the query (after folding and stemming)."""
        found = []
        toks = {lang: tuple(a.analyze(text)) for lang, a in self.analyzers.items()}
        for lang, topic, phrase in self.phrases:
            q = toks[lang]
            n = len(phrase)
            if any(q[i:i + n] == phrase for i in range(len(q) - n + 1)) and topic not in found:
                found.append(topic)
        return found

    def query(self, text: str, filters: Filters) -> tuple[tantivy.Query, list[str]]:
        Q, Occ = tantivy.Query, tantivy.Occur
        should = []
        topics: list[str] = []
        text = (text or "").strip()[:500]
        if text:
            for lang, a in self.analyzers.items():
                toks = a.analyze(text)
                for tok in dict.fromkeys(toks):
                    should.append((Occ.Should, Q.term_query(self.schema, f"text_{lang}", tok)))
                    should.append((Occ.Should, Q.boost_query(Q.term_query(self.schema, f"title_{lang}", tok),
                                                             BOOST_TITLE)))
                if len(toks) > 1:
                    should.append((Occ.Should, Q.boost_query(Q.phrase_query(self.schema, f"text_{lang}", toks, 1),
                                                             BOOST_PHRASE)))
            topics = self.topics_in(text)
            for topic in topics:
                should.append((Occ.Should, Q.boost_query(Q.term_query(self.schema, "topic", topic), BOOST_TOPIC)))
        must = []
        f = filters
        for name, value in (("country", (f.country or "").upper() or None), ("iccs", f.iccs),
                            ("prevention", f.prevention), ("population", f.population), ("line", f.line),
                            ("lang", f.lang)):
            if value:
                must.append((Occ.Must, Q.term_query(self.schema, name, str(value))))
        if f.min_evidence is not None:
            must.append((Occ.Must, Q.range_query(self.schema, "evidence", tantivy.FieldType.Integer,
                                                 int(f.min_evidence), None)))
        if should:
            must.append((Occ.Must, Q.boolean_query(should)))
        if not must:
            return Q.all_query(), topics
        return Q.boolean_query(must), topics

    def search(self, text: str = "", filters: Filters | None = None, limit: int = 20) -> list[Hit]:
        filters = filters or Filters()
        q, topics = self.query(text, filters)
        searcher = self.index.searcher()
        res = searcher.search(q, limit=max(len(self.records), 1))
        hits = []
        for score, addr in res.hits:
            pid = searcher.doc(addr)["practice_id"][0]
            rec = self.records[pid]
            hits.append(Hit(pid, float(score), rec, [t for t in topics if t in (rec.get("topics") or [])]))
        if not (text or "").strip():       # no text: best evidence first, then title
            hits.sort(key=lambda h: (-(self.ref.evidence(h.record)["level"] or -1), h.record["title"]["en"]))
        else:
            hits.sort(key=lambda h: (-round(h.score, 6), h.practice_id))
        return hits[:limit]


def get_index(settings: Settings) -> PracticeIndex:
    """The index of the published records, rebuilt when a record or reference file changes."""
    sig = (str(settings.reference_dir), str(settings.data_dir), signature(settings))
    with _LOCK:
        idx = _CACHE.get("index")
        if idx is None or _CACHE.get("sig") != sig:
            idx = PracticeIndex(load_records(settings), load_reference(settings.reference_dir))
            _CACHE.update(index=idx, sig=sig)
        return idx


def search(settings: Settings, text: str = "", limit: int = 20, **filters) -> list[Hit]:
    return get_index(settings).search(text, Filters(**filters), limit)
