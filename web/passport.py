"""How the accession page shows an MCPD passport: sections, labels, decoded values."""

from __future__ import annotations

from dataclasses import dataclass

from breedhub.germplasm.mcpd import CODE_LISTS, DESCRIPTORS, countries

LABELS: dict[str, str] = {
    "PUID": "Persistent unique identifier",
    "INSTCODE": "Holding institute",
    "ACCENUMB": "Accession number",
    "COLLNUMB": "Collecting number",
    "COLLCODE": "Collecting institute code",
    "COLLNAME": "Collecting institute name",
    "COLLINSTADDRESS": "Collecting institute address",
    "COLLMISSID": "Collecting mission",
    "GENUS": "Genus",
    "SPECIES": "Species",
    "SPAUTHOR": "Species authority",
    "SUBTAXA": "Subtaxon",
    "SUBTAUTHOR": "Subtaxon authority",
    "CROPNAME": "Crop name",
    "ACCENAME": "Accession name(s)",
    "ACQDATE": "Acquisition date",
    "ORIGCTY": "Country of origin",
    "COLLSITE": "Collecting site",
    "DECLATITUDE": "Latitude (decimal)",
    "LATITUDE": "Latitude (DMS)",
    "DECLONGITUDE": "Longitude (decimal)",
    "LONGITUDE": "Longitude (DMS)",
    "COORDUNCERT": "Coordinate uncertainty (m)",
    "COORDDATUM": "Coordinate datum",
    "GEOREFMETH": "Georeferencing method",
    "ELEVATION": "Elevation (m)",
    "COLLDATE": "Collecting date",
    "BREDCODE": "Breeding institute code",
    "BREDNAME": "Breeding institute name",
    "SAMPSTAT": "Biological status",
    "ANCEST": "Ancestral data",
    "COLLSRC": "Collecting/acquisition source",
    "DONORCODE": "Donor institute code",
    "DONORNAME": "Donor institute name",
    "DONORNUMB": "Donor accession number",
    "OTHERNUMB": "Other identifiers",
    "DUPLSITE": "Safety duplicates at",
    "DUPLINSTNAME": "Safety-duplicate institute",
    "STORAGE": "Type of storage",
    "MLSSTAT": "In the Multilateral System",
    "REMARKS": "Remarks",
}

SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Identity", ("PUID", "INSTCODE", "ACCENUMB", "ACCENAME", "ACQDATE", "SAMPSTAT")),
    ("Taxonomy", ("GENUS", "SPECIES", "SPAUTHOR", "SUBTAXA", "SUBTAUTHOR", "CROPNAME")),
    ("Collecting", (
        "ORIGCTY", "COLLSITE", "COLLDATE", "COLLSRC", "COLLNUMB", "COLLCODE", "COLLNAME",
        "COLLINSTADDRESS", "COLLMISSID", "DECLATITUDE", "DECLONGITUDE", "LATITUDE", "LONGITUDE",
        "COORDUNCERT", "COORDDATUM", "GEOREFMETH", "ELEVATION",
    )),
    ("Breeding", ("BREDCODE", "BREDNAME", "ANCEST")),
    ("Donor & other numbers", ("DONORCODE", "DONORNAME", "DONORNUMB", "OTHERNUMB")),
    ("Storage & MLS", ("STORAGE", "MLSSTAT", "DUPLSITE", "DUPLINSTNAME")),
    ("Remarks", ("REMARKS",)),
)  # fmt: skip

_KIND = {d.code: d.kind for d in DESCRIPTORS}


@dataclass(frozen=True)
class Field:
    """One passport field as shown: MCPD code, label, stored value, and text to display."""

    code: str
    label: str
    value: str
    display: str


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]


def format_mcpd_date(value: str) -> str:
    """``20010512`` -> ``2001-05-12``; unknown parts (``--`` or ``00``) are left out.

    Examples
    --------
    >>> format_mcpd_date("20010512"), format_mcpd_date("2001----"), format_mcpd_date("200105--")
    ('2001-05-12', '2001', '2001-05')
    """
    if len(value) != 8 or not value[:4].isdigit():
        return value
    parts = [value[:4]]
    for part in (value[4:6], value[6:8]):
        if part in ("--", "00") or not part.isdigit():
            break
        parts.append(part)
    return "-".join(parts)


def display_value(code: str, value: str) -> str:
    """The text shown for one MCPD value: codes with their labels, countries by name."""
    if value == "":
        return ""
    if code in CODE_LISTS:
        labels = CODE_LISTS[code]
        shown = []
        for part in value.split(";"):
            part = part.strip()
            label = labels.get(int(part)) if part.lstrip("-").isdigit() else None
            shown.append(f"{part} – {label}" if label else part)
        return "; ".join(shown)
    if code == "ORIGCTY":
        name = countries().get(value.upper())
        return f"{value} – {name}" if name else value
    if _KIND.get(code) == "date":
        return format_mcpd_date(value)
    if code in ("COLLCODE", "DUPLSITE", "OTHERNUMB", "ACCENAME"):
        return "; ".join(p.strip() for p in value.split(";") if p.strip())
    return value


def passport_sections(passport: dict[str, str]) -> list[Section]:
    """Group a passport (MCPD code -> text) into the page's sections, empty fields left out."""
    out = []
    for title, codes in SECTIONS:
        fields = tuple(
            Field(c, LABELS[c], passport.get(c, ""), display_value(c, passport.get(c, "")))
            for c in codes
            if passport.get(c, "") != ""
        )
        out.append(Section(title, fields))
    return out
