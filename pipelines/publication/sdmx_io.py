"""SDMX for the published tables, with ``sdmx1`` (2.28): the structures (data structure definition, concept
scheme, code lists, dataflows) generated from the project's reference tables, and the data written as
SDMX-CSV 2.0 and SDMX-ML 2.1 structure-specific data, and read back.

Structures: ``python -m pipelines.publication.sdmx_io`` writes ``reference/sdmx/HEMISTAT_CRIME.xml`` (SDMX-ML 2.1
structure message) from ``reference/iccs/iccs.csv`` (CL_ICCS), ``reference/countries/oas_members.csv``
(CL_AREA: OAS member states, ISO3), the source specs (CL_SOURCE: title, publisher, url) and the small code lists
below (CL_FREQ, CL_SEX, CL_AGE, CL_MEASURE, CL_RELATIONSHIP, CL_UNIT, CL_OBS_STATUS), which mirror the values of
the warehouse's contracts (``pipelines/contracts/tables.py``). A test fails when the file is out of date.

The DSD follows ``DOMAIN.md`` section 5.2 where the warehouse has the dimension: FREQ, REF_AREA, SUBDIVISION
(not coded: the source's subdivision code, ``_T`` for the whole country), MEASURE (DOMAIN's INDICATOR), ICCS,
SEX, AGE, RELATIONSHIP, SOURCE, UNIT_MEASURE, TIME_PERIOD; OBS_VALUE; attributes OBS_STATUS, COMMENT_OBS,
COMPARABILITY (the source's), COMPARABILITY_FLAGS and QUALITY_SCORE (``published.comparable``), RELEASE_ID.
Mechanism, situational context and source type are not in the warehouse and are left out. SOURCE is a dimension
because ``published.indicators`` holds one value per source; in ``published.comparable`` it names the chosen
source. Each row gives one observation with UNIT_MEASURE ``NUMBER`` (the count) and, when it has a rate, one
with ``PER_100000_POP``. The agency ``HEMISTAT`` is this project's own id, not a registered SDMX agency.

Data are written in chunks (``CHUNK`` rows): each chunk becomes an ``sdmx1`` DataSet; SDMX-CSV chunks are
appended by ``sdmx.to_csv``; SDMX-ML observations are the elements ``sdmx1``'s XML writer makes, streamed into
one message with lxml's incremental writer (so memory stays bounded by a chunk).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

AGENCY = "HEMISTAT"
VERSION = "1.0"
DSD_ID = "DSD_CRIME"
STRUCTURE_FILE = "HEMISTAT_CRIME.xml"
DATAFLOWS = {"indicators": ("DF_INDICATORS", "Published indicators, every source"),
             "comparable": ("DF_COMPARABLE", "One comparable value per country, year and ICCS code")}
CHUNK = 20_000

SMALL_CODELISTS = {
    "CL_FREQ": ("Frequency", [("A", "Annual"), ("M", "Monthly")]),
    "CL_SEX": ("Sex", [("F", "Female"), ("M", "Male"), ("_T", "Total"), ("_U", "Unknown")]),
    "CL_AGE": ("Age", [("_T", "Total"), ("_U", "Unknown"), ("Y_LT18", "Under 18 years"),
                       ("Y_GE18", "18 years or over")]),
    "CL_MEASURE": ("Measure", [("offences", "Offences known to the police"), ("victims", "Victims"),
                               ("population_share", "Share of the population (survey)")]),
    "CL_RELATIONSHIP": ("Relationship of victim and perpetrator", [
        ("_T", "Total"), ("IPFM", "Intimate partner or family member"), ("KNOWN", "Other perpetrator known to the victim"),
        ("UNKNOWN", "Perpetrator unknown to the victim"), ("_U", "Relationship not known")]),
    "CL_UNIT": ("Unit of measure", [("NUMBER", "Number"), ("PER_100000_POP", "Per 100,000 population"),
                                    ("PERCENT", "Percent")]),
    "CL_OBS_STATUS": ("Observation status", None),   # from notes.OBS_STATUS
    "CL_COMPARABILITY": ("Comparability of the source", None),   # from notes.COMPARABILITY
}
# dimension id -> (concept name, code list id or None for a non-coded dimension, column)
DIMENSIONS = [
    ("FREQ", "Frequency", "CL_FREQ"), ("REF_AREA", "Reference area (OAS member state, ISO 3166-1 alpha-3)", "CL_AREA"),
    ("SUBDIVISION", "Subdivision (the source's code; _T the whole country)", None),
    ("MEASURE", "Measure", "CL_MEASURE"), ("ICCS", "ICCS category", "CL_ICCS"), ("SEX", "Sex", "CL_SEX"),
    ("AGE", "Age", "CL_AGE"), ("RELATIONSHIP", "Relationship of victim and perpetrator", "CL_RELATIONSHIP"),
    ("SOURCE", "Source", "CL_SOURCE"), ("UNIT_MEASURE", "Unit of measure", "CL_UNIT"),
]
# attribute id -> (concept name, code list or None, mandatory)
ATTRIBUTES = [("OBS_STATUS", "Observation status", "CL_OBS_STATUS", True),
              ("RELEASE_ID", "hemistat release the value comes from", None, True),
              ("COMMENT_OBS", "Note on the observation", None, False),
              ("COMPARABILITY", "Comparability of the source", "CL_COMPARABILITY", False),
              ("COMPARABILITY_FLAGS", "Comparability flags of the chosen value (';'-separated)", None, False),
              ("QUALITY_SCORE", "Quality score of the country-year (0-100)", None, False)]


# ---- structures ----------------------------------------------------------------------------------------------

def build_structures(reference_dir: Path):
    """The structure message (sdmx1 objects) built from the reference tables."""
    from sdmx.message import Header, StructureMessage
    from sdmx.model import common, v21

    from pipelines.harmonise import reference
    from pipelines.publication import notes
    from pipelines.specs.source import load_all_specs

    agency = common.Agency(id=AGENCY, name={"en": "hemistat (Inter-American Network of Public Security "
                                                  "Information and Knowledge, OAS)"})

    def codelist(cid, name, codes):
        cl = common.Codelist(id=cid, maintainer=agency, version=VERSION, is_final=False, name={"en": name})
        for code in codes:
            cl.append(code)
        return cl

    def code(cid, names: dict, description: dict | None = None, parent=None):
        c = common.Code(id=cid, name={k: v for k, v in names.items() if v}, description=description or {})
        return c

    lists = {}
    for cid, (name, codes) in SMALL_CODELISTS.items():
        if cid == "CL_OBS_STATUS":
            codes = list(notes.OBS_STATUS.items())
        elif cid == "CL_COMPARABILITY":
            codes = list(notes.COMPARABILITY.items())
        lists[cid] = codelist(cid, name, [code(k, {"en": v}) for k, v in codes])
    countries = reference.countries(reference_dir)
    lists["CL_AREA"] = codelist("CL_AREA", "OAS member states (ISO 3166-1 alpha-3)", [
        code(r.iso3, {"en": r.name_en, "es": r.name_es, "pt": r.name_pt, "fr": r.name_fr},
             {"en": f"UN M49 {r.m49}; {r.subregion}"}) for r in countries.sort_values("iso3").itertuples()])
    iccs = reference.iccs(reference_dir).sort_values("code")
    cl_iccs = codelist("CL_ICCS", "International Classification of Crime for Statistical Purposes (UNODC)", [])
    for r in iccs.itertuples():
        cl_iccs.append(code(r.code, {"en": r.label_en, "es": r.label_es}))
    for r in iccs.itertuples():
        if isinstance(r.parent_code, str) and r.parent_code and r.parent_code in cl_iccs:
            cl_iccs[r.code].parent = cl_iccs[r.parent_code]
    lists["CL_ICCS"] = cl_iccs
    specs = load_all_specs(reference_dir, strict=False)
    lists["CL_SOURCE"] = codelist("CL_SOURCE", "Sources (reference/sources)", [
        code(s.source_id, {"en": s.title},
             {"en": f"{s.publisher}. {s.title}." + (f" {s.url}." if s.url else "")})
        for s in sorted(specs.values(), key=lambda s: s.source_id)])

    cs = common.ConceptScheme(id="CS_CRIME", maintainer=agency, version=VERSION, is_final=False,
                              name={"en": "Concepts of the Network's crime statistics"})
    for cid, name, *_ in DIMENSIONS + [("TIME_PERIOD", "Time period", None), ("OBS_VALUE", "Observation value", None)]:
        cs.append(common.Concept(id=cid, name={"en": name}))
    for cid, name, *_ in ATTRIBUTES:
        cs.append(common.Concept(id=cid, name={"en": name}))

    dsd = v21.DataStructureDefinition(id=DSD_ID, maintainer=agency, version=VERSION, is_final=False,
                                      name={"en": "Crime and criminal justice statistics harmonised to ICCS"})
    for i, (cid, _, cl) in enumerate(DIMENSIONS, 1):
        rep = common.Representation(enumerated=lists[cl]) if cl else None
        dsd.dimensions.append(common.Dimension(id=cid, concept_identity=cs[cid], local_representation=rep, order=i))
    dsd.dimensions.append(common.TimeDimension(id="TIME_PERIOD", concept_identity=cs["TIME_PERIOD"],
                                               order=len(DIMENSIONS) + 1))
    dsd.measures.append(v21.PrimaryMeasure(id="OBS_VALUE", concept_identity=cs["OBS_VALUE"]))
    for cid, _, cl, mandatory in ATTRIBUTES:
        rep = common.Representation(enumerated=lists[cl]) if cl else None
        dsd.attributes.append(common.DataAttribute(
            id=cid, concept_identity=cs[cid], local_representation=rep, related_to=v21.PrimaryMeasureRelationship(),
            usage_status=common.UsageStatus.mandatory if mandatory else common.UsageStatus.conditional))
    msg = StructureMessage(header=Header(id="HEMISTAT_CRIME_STRUCTURES", sender=common.Agency(id=AGENCY)))
    for cl in lists.values():
        msg.add(cl)
    msg.add(cs)
    msg.add(dsd)
    for table, (fid, name) in DATAFLOWS.items():
        msg.add(v21.DataflowDefinition(id=fid, maintainer=agency, version=VERSION, is_final=False, structure=dsd,
                                       name={"en": name}))
    return msg


def structures_xml(reference_dir: Path) -> bytes:
    import sdmx

    return sdmx.to_xml(build_structures(reference_dir), pretty_print=True)


def write_structures(reference_dir: Path) -> Path:
    out = Path(reference_dir) / "sdmx" / STRUCTURE_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(structures_xml(reference_dir))
    return out


def load_structures(reference_dir: Path):
    """The structure message read by sdmx1 from ``reference/sdmx/`` (what exports are written against)."""
    import sdmx

    p = Path(reference_dir) / "sdmx" / STRUCTURE_FILE
    if not p.exists():
        raise FileNotFoundError(f"{p}: missing; generate it with python -m pipelines.publication.sdmx_io")
    return sdmx.read_sdmx(p)


# ---- data ------------------------------------------------------------------------------------------------------

def _s(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    if not isinstance(v, (str, bytes)) and hasattr(v, "__len__"):   # a list (arrow gives numpy arrays)
        return ";".join(str(x) for x in v)
    if isinstance(v, float) and v.is_integer():
        return str(v)
    return str(v)


def observation_rows(df: pd.DataFrame, release_id: str) -> list[dict]:
    """Rows of a published table -> observations: {dimension: code, ..., OBS_VALUE, attributes}."""
    out = []
    for r in df.to_dict("records"):
        month = r.get("month")
        monthly = month is not None and not (isinstance(month, float) and month != month) and not pd.isna(month)
        sub = r.get("subdivision_code")
        key = {"FREQ": "M" if monthly else "A", "REF_AREA": r["country_iso3"],
               "SUBDIVISION": sub if isinstance(sub, str) and sub else "_T", "MEASURE": r["measure"],
               "ICCS": r["iccs_code"], "SEX": r.get("sex") or "_T", "AGE": r.get("age") or "_T",
               "RELATIONSHIP": r.get("relationship") or "_T", "SOURCE": r["source_id"],
               "TIME_PERIOD": f"{int(r['year']):04d}-{int(month):02d}" if monthly else f"{int(r['year']):04d}"}
        att = {"OBS_STATUS": r.get("obs_status") or "A", "RELEASE_ID": release_id,
               "COMMENT_OBS": _s(r.get("obs_note")), "COMPARABILITY": _s(r.get("comparability")),
               "COMPARABILITY_FLAGS": _s(r.get("comparability_flags")) or None,
               "QUALITY_SCORE": _s(r.get("quality_score"))}
        att = {k: v for k, v in att.items() if v not in (None, "")}
        for unit, col in (("NUMBER", "value"), ("PER_100000_POP", "rate_per_100k")):
            v = r.get(col)
            if v is None or (isinstance(v, float) and v != v) or pd.isna(v):
                continue
            out.append({**key, "UNIT_MEASURE": unit, "OBS_VALUE": float(v), **att})
    return out


class SdmxCodeError(ValueError):
    """A value of the warehouse that the DSD's code list does not have (regenerate reference/sdmx)."""


class _Builder:
    """Observations of one DSD, fast: each KeyValue and AttributeValue is made once per (component, value) and
    shared (``dsd.make_key`` builds them for every observation, which is most of the time of a large export),
    and a coded value missing from its code list is an error naming it (``make_key`` would pass it through)."""

    def __init__(self, dsd, dataflow):
        from sdmx.model import common, v21

        self.dsd, self.dataflow, self.common, self.v21 = dsd, dataflow, common, v21
        self.dims = list(dsd.dimensions)
        self.attrs = {a.id: a for a in dsd.attributes}
        self.measure = dsd.measures[0]
        self._kv: dict = {}
        self._av: dict = {}

    def _coded(self, comp, v):
        rep = comp.local_representation
        cl = rep.enumerated if rep is not None else None
        if cl is None:
            return v
        if v not in cl:
            raise SdmxCodeError(f"value {v!r} of {comp.id} is not in code list {cl.id} of reference/sdmx/"
                                f"{STRUCTURE_FILE} (regenerate it: python -m pipelines.publication.sdmx_io)")
        return cl[v]

    def key(self, o: dict):
        kvs = []
        for d in self.dims:
            v = o[d.id]
            kv = self._kv.get((d.id, v))
            if kv is None:
                kv = self._kv[(d.id, v)] = self.common.KeyValue(id=d.id, value=self._coded(d, v), value_for=d)
            kvs.append(kv)
        return self.common.Key(kvs, described_by=self.dsd.dimensions)

    def attributes(self, o: dict) -> dict:
        out = {}
        for k, a in self.attrs.items():
            if k not in o:
                continue
            av = self._av.get((k, o[k]))
            if av is None:
                value = self._coded(a, o[k])
                av = self._av[(k, o[k])] = self.common.AttributeValue(value_for=a, value=value)
            out[k] = av
        return out

    def dataset(self, obs_rows: list[dict]):
        obs = [self.v21.Observation(dimension=self.key(o), value=o["OBS_VALUE"], attached_attribute=self.attributes(o),
                                    value_for=self.measure) for o in obs_rows]
        return self.v21.StructureSpecificDataSet(structured_by=self.dsd, described_by=self.dataflow, obs=obs)


def _dataset(obs_rows: list[dict], dsd, dataflow):
    return _Builder(dsd, dataflow).dataset(obs_rows)


def _chunks(con, table, size: int = CHUNK):
    reader = con.sql(table.relation, params=table.params).to_arrow_reader(size)
    for batch in reader:
        yield batch.to_pandas()


def write_sdmx_csv(con, table, path: Path, dsd, dataflow, release_id: str) -> int:
    """SDMX-CSV 2.0 by ``sdmx.to_csv``, a chunk at a time (header once). Returns observations written."""
    import sdmx

    n, first = 0, True
    tmp = path.with_name(path.name + ".part")
    b = _Builder(dsd, dataflow)
    with open(path, "w", encoding="utf-8", newline="") as out:
        for df in _chunks(con, table):
            rows = observation_rows(df, release_id)
            if not rows:
                continue
            sdmx.to_csv(b.dataset(rows), path=tmp, attributes="o")
            text = tmp.read_text("utf-8")
            if not first:
                text = text.split("\n", 1)[1] if "\n" in text else ""
            out.write(text)
            first = False
            n += len(rows)
    tmp.unlink(missing_ok=True)
    if first:   # no observation: the header alone
        cols = ["STRUCTURE", "STRUCTURE_ID", "ACTION"] + [d.id for d in dsd.dimensions] + ["OBS_VALUE"] \
            + [a.id for a in dsd.attributes]
        path.write_text(",".join(cols) + "\n", "utf-8")
    return n


def write_sdmx_ml(con, table, path: Path, dsd, dataflow, release_id: str) -> int:
    """SDMX-ML 2.1 structure-specific data: the header and data set of ``sdmx.to_xml`` for an empty message,
    then each chunk's observations as ``sdmx1`` writes them, streamed (lxml ``xmlfile``)."""
    import sdmx
    from lxml import etree
    from sdmx.message import DataMessage, Header
    from sdmx.model import common
    from sdmx.writer.xml import writer as xml_writer

    header = Header(id=f"HEMISTAT_{release_id.replace('-', '_')}", sender=common.Agency(id=AGENCY),
                    test=False)
    empty = DataMessage(header=header, data=[_dataset([], dsd, dataflow)], dataflow=dataflow)
    root = etree.fromstring(sdmx.to_xml(empty))
    ds_el = root[-1]
    n = 0
    b = _Builder(dsd, dataflow)
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(root.tag, nsmap=root.nsmap, attrib=dict(root.attrib)):
            xf.write(root[0])   # mes:Header
            with xf.element(ds_el.tag, attrib=dict(ds_el.attrib)):
                for df in _chunks(con, table):
                    rows = observation_rows(df, release_id)
                    for o in b.dataset(rows).obs:
                        xf.write(xml_writer.recurse(o, struct_spec=True))
                    n += len(rows)
    return n


def read_back(path: Path, structures) -> pd.DataFrame:
    """An SDMX-CSV 2.0 or SDMX-ML file read by ``sdmx.read_sdmx`` against the DSD, one row per observation
    (dimensions, OBS_VALUE, attributes)."""
    import sdmx

    dsd = structures.structure[DSD_ID]
    msg = sdmx.read_sdmx(path, structure=dsd)
    rows = []
    for ds in msg.data:
        for o in ds.obs:
            r = {k: str(kv.value) for k, kv in o.key.values.items()}
            r["OBS_VALUE"] = float(o.value) if o.value is not None else None
            r.update({k: str(av.value) for k, av in o.attached_attribute.items()})
            rows.append(r)
    return pd.DataFrame(rows)


def export(settings, con, sel, out: Path, fmt: str) -> list[Path]:
    """The tables of ``sel`` that fit the DSD (indicators, comparable) as SDMX-CSV or SDMX-ML, and the structure
    file beside them (its code lists carry the source citations)."""
    import shutil

    structures = load_structures(settings.reference_dir)
    dsd = structures.structure[DSD_ID]
    files = []
    for t in sel.tables:
        if t.name not in DATAFLOWS:
            continue   # coverage and regional do not have the DSD's shape: CSV, Parquet, XLSX, data package
        flow = structures.dataflow[DATAFLOWS[t.name][0]]
        if fmt == "sdmx-csv":
            p = out / f"{t.name}.sdmx.csv"
            write_sdmx_csv(con, t, p, dsd, flow, sel.release_id)
        else:
            p = out / f"{t.name}.sdmx.xml"
            write_sdmx_ml(con, t, p, dsd, flow, sel.release_id)
        files.append(p)
    s = out / STRUCTURE_FILE
    shutil.copyfile(Path(settings.reference_dir) / "sdmx" / STRUCTURE_FILE, s)
    return files + [s]


def main(argv: list[str] | None = None) -> int:
    from pipelines.settings import get_settings

    p = write_structures(get_settings().reference_dir)
    print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
