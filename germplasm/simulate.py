"""A seeded simulator of breeding germplasm: passports, pedigrees, trials, truth.

:func:`simulate_germplasm` makes one species' worth of demo data, with the
biology of the species registry built in: inbred lines for selfing crops,
clonal selections for tea, oil-tea and dendrobium, litters of sires and dams
for pig and full-sib families for grass carp. Its outputs are the tables that
the imports read (an MCPD passport table, a pedigree table, phenotypes in the
long layout) plus the simulated genetic values, so that tests, docs, the demo
and benchmarks can check an estimate against the truth.

Everything is a pure function of the arguments: the same seed gives the same
tables, and no database, clock or network is touched. Dates lie on or before
:data:`PRESENT` (the end of 2024), so they never fall in the future.

Names of accessions, institutes and places of collection are invented in the
style of each crop's breeding programmes; a match with a real variety, line
or animal is a coincidence. Institute codes are WIEWS-shaped (ISO country +
three digits, ``9xx``) demo codes.

References
----------
Henderson CR (1976). A simple method for computing the inverse of a numerator
relationship matrix used in prediction of breeding values. Biometrics 32:69-83.

Falconer DS, Mackay TFC (1996). Introduction to Quantitative Genetics, 4th ed.
Longman (Mendelian sampling variance, inbred lines, backcrosses).
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from breedhub.germplasm.mcpd import COLUMNS as MCPD_COLUMNS
from breedhub.germplasm.mcpd import countries
from breedhub.germplasm.species import Species
from breedhub.germplasm.traits import Variable

PRESENT = dt.date(2024, 12, 31)
"""The simulated "today": no simulated date lies after it."""

PEDIGREE_COLUMNS = (
    "INSTCODE", "ACCENUMB", "FEMALE_PARENT", "MALE_PARENT", "CROSS_TYPE", "GENERATION",
    "CROSS_YEAR", "PEDIGREE",
)  # fmt: skip
OBSERVATION_COLUMNS = (
    "trial", "study", "location", "year", "season", "instcode", "accenumb", "unit",
    "replicate", "block", "row", "col", "variable", "value", "date",
)  # fmt: skip
GENETIC_VALUE_COLUMNS = ("instcode", "accenumb", "variable", "genetic_value")
CROSS_TYPES = (
    "BIPARENTAL", "SELF", "OPEN_POLLINATED", "BACKCROSS", "CLONAL", "DOUBLE_HAPLOID", "UNKNOWN",
)  # fmt: skip
MAX_ACCESSIONS = 100_000


@dataclass
class SimulatedGermplasm:
    """One species' simulated germplasm, as the import files would hold it.

    Attributes
    ----------
    species
        The species key.
    passport
        MCPD v2.1 passport table: every column of :data:`germplasm.mcpd.COLUMNS`,
        in that order, as text (``""`` when empty).
    pedigree
        One row per accession (founders with blank parents), columns
        :data:`PEDIGREE_COLUMNS` as text. A parent is its ACCENUMB when the same
        institute holds it, ``INSTCODE:ACCENUMB`` otherwise; parents always come
        in earlier rows.
    observations
        Phenotypes in the long layout, columns :data:`OBSERVATION_COLUMNS` as
        text; missing values are left out.
    genetic_values
        The simulated additive genetic values (deviations from the variable's
        mean, not rounded): ``instcode``, ``accenumb``, ``variable`` (text) and
        ``genetic_value`` (Float64).
    institutes
        The demo institutes: ``code``, ``name``, ``country`` (text), the
        holders of the accessions followed by any donor institutes.
    provenance
        What made the data: software, function, parameters.
    """

    species: str
    passport: pl.DataFrame
    pedigree: pl.DataFrame
    observations: pl.DataFrame
    genetic_values: pl.DataFrame
    institutes: pl.DataFrame = field(default_factory=lambda: _empty(("code", "name", "country")))
    provenance: dict[str, Any] = field(default_factory=dict)


def _empty(columns: Sequence[str]) -> pl.DataFrame:
    return pl.DataFrame({c: pl.Series(c, [], dtype=pl.String) for c in columns})


# ---------------------------------------------------------------------------
# Species profiles: the demo world of each species (places, names, breeding).
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Site:
    place: str
    province: str
    country: str
    lat: float
    lon: float
    elev: tuple[int, int]


@dataclass(frozen=True)
class _Profile:
    institutes: tuple[tuple[str, str, str], ...]  # code, name, accession-number prefix
    founders: dict[str, float]  # founder kind -> share
    events: dict[str, float]  # progeny event kind -> share
    founder_share: float
    cross_span: tuple[int, int]  # first and last cross year
    dev_years: tuple[int, int]  # years from cross to acquisition
    mature_years: int  # years from birth until an animal breeds (animals)
    sites: tuple[_Site, ...]  # where wild and landrace material was collected
    foreign: tuple[tuple[str, float, str], ...]  # ISO3, share, name stem for foreign material
    cultivar_stems: tuple[str, ...]
    landrace_words: tuple[str, ...]
    clone_stems: tuple[tuple[str, str], ...] = ()  # stem, abbreviation
    hybrid_stems: tuple[str, ...] = ()
    groups: tuple[tuple[str, str], ...] = ()  # animals: breed or strain, ISO3 of origin
    locations: tuple[tuple[str, str], ...] = ()  # trial location, ISO3
    seasons: tuple[tuple[str, int, int], ...] = (("Main", 6, 9),)  # name, first, last month
    storage: tuple[tuple[str, float], ...] = (("13", 1.0),)
    mls_share: float = 0.0
    offspring: tuple[int, int] = (1, 1)  # recorded offspring per cross event


def _s(
    place: str, province: str, lat: float, lon: float, lo: int, hi: int, iso: str = "CHN"
) -> _Site:
    return _Site(place, province, iso, lat, lon, (lo, hi))


_YUNNAN = (
    _s("Jinggu", "Yunnan", 23.50, 100.70, 900, 1600), _s("Yuanyang", "Yunnan", 23.22, 102.83, 500, 1800),
    _s("Menghai", "Yunnan", 21.96, 100.45, 1100, 1800), _s("Longling", "Yunnan", 24.59, 98.69, 1000, 1800),
    _s("Guangnan", "Yunnan", 24.05, 105.05, 1000, 1500),
)  # fmt: skip
_SOUTH = (
    _s("Dongxiang", "Jiangxi", 28.23, 116.60, 40, 150), _s("Ganzhou", "Jiangxi", 25.85, 114.93, 100, 500),
    _s("Youxian", "Hunan", 27.00, 113.33, 100, 400), _s("Dongkou", "Hunan", 27.06, 110.57, 300, 700),
    _s("Guilin", "Guangxi", 25.27, 110.29, 150, 600), _s("Baise", "Guangxi", 23.90, 106.62, 200, 900),
    _s("Gaozhou", "Guangdong", 21.92, 110.85, 20, 300), _s("Ledong", "Hainan", 18.75, 109.17, 20, 500),
    _s("Meitan", "Guizhou", 27.77, 107.47, 700, 1100), _s("Zunyi", "Guizhou", 27.70, 106.90, 800, 1200),
    _s("Ya'an", "Sichuan", 29.98, 103.00, 600, 1500), _s("Enshi", "Hubei", 30.30, 109.48, 400, 1200),
)  # fmt: skip
_EAST = (
    _s("Fuding", "Fujian", 27.32, 120.20, 50, 600), _s("Anxi", "Fujian", 25.06, 118.19, 300, 900),
    _s("Wuyishan", "Fujian", 27.75, 118.03, 200, 900), _s("Yandangshan", "Zhejiang", 28.37, 121.05, 200, 900),
    _s("Anji", "Zhejiang", 30.63, 119.68, 50, 500), _s("Huoshan", "Anhui", 31.40, 116.33, 100, 900),
    _s("Huangshan", "Anhui", 29.71, 118.30, 200, 1000), _s("Xinyang", "Henan", 32.13, 114.07, 70, 500),
)  # fmt: skip
_RIVERS = (
    _s("Jianli", "Hubei (Yangtze)", 29.82, 112.90, 20, 40), _s("Jiujiang", "Jiangxi (Yangtze)", 29.71, 116.00, 10, 30),
    _s("Zhaoqing", "Guangdong (Xijiang)", 23.05, 112.47, 5, 20), _s("Hanjiang", "Hubei (Han River)", 30.37, 113.45, 20, 40),
    _s("Xiangjiang", "Hunan (Xiang River)", 28.20, 112.97, 30, 50),
    _s("Fuyuan", "Heilongjiang (Amur)", 48.36, 134.29, 40, 60),
    _s("Khabarovsk", "Amur River", 48.48, 135.07, 30, 60, "RUS"),
)  # fmt: skip

_SEED_LOCS = (("Wuhan", "CHN"), ("Changsha", "CHN"), ("Nanjing", "CHN"), ("Hefei", "CHN"))

_PROFILES: dict[str, _Profile] = {
    "rice": _Profile(
        institutes=(("CHN901", "Demo Rice Research Institute, Hangzhou", "DRR"),
                    ("CHN902", "Demo Hybrid Rice Centre, Changsha", "HRC"),
                    ("CHN903", "Demo South China Rice Station, Guangzhou", "SCR")),
        founders={"landrace": 0.5, "old_cultivar": 0.25, "foreign": 0.2, "weedy": 0.05},
        events={"line": 0.78, "backcross": 0.14, "dh": 0.08},
        founder_share=0.3, cross_span=(1992, 2016), dev_years=(6, 8), mature_years=0,
        sites=_YUNNAN + _SOUTH[:10] + (_s("Dien Bien", "Dien Bien", 21.39, 103.02, 400, 900, "VNM"),
                                      _s("Luang Prabang", "Luang Prabang", 19.89, 102.13, 300, 800, "LAO")),
        foreign=(("PHL", 3, "IR"), ("IND", 2, "Pusa"), ("VNM", 1, "OM"), ("JPN", 1, "Hokuriku"),
                 ("THA", 1, "RD"), ("IDN", 1, "Inpari")),
        cultivar_stems=("Zhongzao", "Xiangzao", "Huanghuazhan", "Yangdao", "Jiahe", "Ningjing",
                        "Yongyou", "Zhehui", "Guichao", "Nanjing", "Wuyunjing", "Yuxiang"),
        landrace_words=("Hongmi", "Heigu", "Baikeqiu", "Dabaigu", "Xiangnuo", "Aijiao Nante",
                        "Laobaigu", "Hongjiaozhan", "Maozhan", "Zaohong"),
        locations=(("Hangzhou", "CHN"), ("Changsha", "CHN"), ("Nanchang", "CHN"), ("Guangzhou", "CHN"),
                   ("Wuhan", "CHN"), ("Nanning", "CHN"), ("Sanya", "CHN"), ("Los Banos", "PHL")),
        seasons=(("Early", 6, 7), ("Late", 10, 11), ("Single", 9, 10)),
        storage=(("13", 0.85), ("12;13", 0.1), ("13;50", 0.05)), mls_share=0.5, offspring=(1, 3),
    ),
    "rapeseed": _Profile(
        institutes=(("CHN911", "Demo Oil Crops Institute, Wuhan", "DOC"),
                    ("CHN912", "Demo Rapeseed Station, Nanjing", "JRS")),
        founders={"landrace": 0.25, "old_cultivar": 0.4, "foreign": 0.35},
        events={"line": 0.55, "dh": 0.25, "backcross": 0.08, "hybrid": 0.12},
        founder_share=0.3, cross_span=(1995, 2017), dev_years=(5, 7), mature_years=0,
        sites=_SOUTH[:4] + _SOUTH[8:] + (_s("Huzhu", "Qinghai", 36.84, 101.95, 2400, 2800),),
        foreign=(("CAN", 2, "Nordra"), ("AUS", 1, "Tarin"), ("DEU", 2, "Lembke"), ("FRA", 1, "Colvert"),
                 ("SWE", 1, "Svalin"), ("JPN", 1, "Norin")),
        cultivar_stems=("Zhongshuang", "Huashuang", "Qinyou", "Xiangyou", "Ningyou", "Zheyou",
                        "Chuanyou", "Yangyou"),
        landrace_words=("Youcai", "Huangzi", "Aigan", "Baihua"),
        hybrid_stems=("Huayouza", "Zhongyouza", "Qinyouza", "Xiangzayou"),
        locations=(("Wuhan", "CHN"), ("Nanjing", "CHN"), ("Changsha", "CHN"), ("Chengdu", "CHN"),
                   ("Hefei", "CHN"), ("Xining", "CHN"), ("Quedlinburg", "DEU")),
        seasons=(("Winter", 4, 5), ("Spring", 7, 8)),
        storage=(("13", 0.9), ("12;13", 0.1)), mls_share=0.4, offspring=(1, 3),
    ),
    "pepper": _Profile(
        institutes=(("CHN921", "Demo Vegetable Research Centre, Beijing", "BVC"),
                    ("CHN922", "Demo Pepper Institute, Changsha", "HPV")),
        founders={"landrace": 0.55, "old_cultivar": 0.15, "foreign": 0.22, "wild": 0.08},
        events={"line": 0.6, "backcross": 0.1, "dh": 0.08, "hybrid": 0.22},
        founder_share=0.35, cross_span=(1998, 2018), dev_years=(4, 6), mature_years=0,
        sites=_YUNNAN + _SOUTH[2:4] + _SOUTH[8:] + (_s("Hanzhong", "Shaanxi", 33.07, 107.03, 500, 900),
                                                    _s("Oaxaca", "Oaxaca", 17.06, -96.72, 1200, 1800, "MEX"),
                                                    _s("Hermosillo", "Sonora", 29.07, -110.96, 200, 600, "MEX")),
        foreign=(("KOR", 2, "Cheongyang"), ("USA", 1, "Mesilla"), ("MEX", 2, "Serrano"),
                 ("HUN", 1, "Kalocsa"), ("ESP", 1, "Padron"), ("IND", 1, "Guntur")),
        cultivar_stems=("Xiangyan", "Boyan", "Lajiao", "Jingla", "Zhongjiao", "Suijiao", "Qianla"),
        landrace_words=("Chaotianjiao", "Niujiaojiao", "Denglongjiao", "Xianjiao", "Huajiao Hong",
                        "Xiaomila", "Tianjiao"),
        hybrid_stems=("Xiangyan", "Jingla", "Zhongjiao"),
        locations=(("Changsha", "CHN"), ("Beijing", "CHN"), ("Zunyi", "CHN"), ("Xi'an", "CHN"),
                   ("Kunming", "CHN"), ("Shouguang", "CHN"), ("Suwon", "KOR")),
        seasons=(("Spring", 6, 8), ("Autumn", 10, 11)),
        storage=(("13", 0.9), ("12;13", 0.1)), offspring=(1, 3),
    ),
    "pig": _Profile(
        institutes=(("CHN931", "Demo Pig Breeding Centre, Wuhan", "WPB"),
                    ("CHN932", "Demo Swine Nucleus Farm, Guangzhou", "GSF")),
        founders={"base": 1.0},
        events={"litter": 1.0},
        founder_share=0.15, cross_span=(2012, 2022), dev_years=(0, 0), mature_years=1,
        sites=(), foreign=(),
        cultivar_stems=(), landrace_words=(),
        groups=(("Duroc", "USA"), ("Landrace", "DNK"), ("Yorkshire", "GBR"), ("Meishan", "CHN"),
                ("Jinhua", "CHN"), ("Rongchang", "CHN")),
        locations=(("Wuhan", "CHN"), ("Jinhua", "CHN"), ("Guangzhou", "CHN"), ("Rongchang", "CHN"),
                   ("Changsha", "CHN")),
        seasons=(("Spring", 3, 5), ("Autumn", 9, 11)),
        storage=(("", 0.5), ("99", 0.5)), offspring=(2, 4),
    ),
    "grass_carp": _Profile(
        institutes=(("CHN941", "Demo Yangtze Fisheries Institute, Wuhan", "YFI"),
                    ("CHN942", "Demo Pearl River Fisheries Station, Guangzhou", "PRF")),
        founders={"base": 1.0},
        events={"family": 1.0},
        founder_share=0.12, cross_span=(2005, 2021), dev_years=(0, 0), mature_years=4,
        sites=_RIVERS, foreign=(),
        cultivar_stems=(), landrace_words=(),
        groups=(("Changfeng", "CHN"), ("Xiangyu", "CHN"), ("Zhuyu", "CHN")),
        locations=(("Wuhan", "CHN"), ("Guangzhou", "CHN"), ("Jingzhou", "CHN"), ("Foshan", "CHN"),
                   ("Changsha", "CHN")),
        seasons=(("Summer", 7, 8), ("Autumn", 10, 11)),
        storage=(("", 0.5), ("99", 0.5)), offspring=(4, 8),
    ),
    "tea": _Profile(
        institutes=(("CHN951", "Demo Tea Research Institute, Hangzhou", "TRI"),
                    ("CHN952", "Demo Tea Station, Fuzhou", "FTS"),
                    ("CHN953", "Demo Yunnan Tea Institute, Menghai", "YTI")),
        founders={"landrace": 0.6, "wild": 0.2, "foreign": 0.1, "old_cultivar": 0.1},
        events={"f1clone": 0.35, "op": 0.35, "clonal": 0.3},
        founder_share=0.35, cross_span=(1980, 2012), dev_years=(8, 12), mature_years=0,
        sites=_YUNNAN + _EAST[:5] + _EAST[6:] + (_SOUTH[8], _SOUTH[10], _SOUTH[11],
                                                 _s("Ha Giang", "Ha Giang", 22.83, 104.98, 600, 1400, "VNM")),
        foreign=(("IND", 2, "TV"), ("LKA", 1, "TRI"), ("JPN", 1, "Saemidori-style"), ("KEN", 1, "TRFK"),
                 ("VNM", 1, "LDP")),
        cultivar_stems=("Zhongcha", "Zhenong", "Fuyun", "Yunkang", "Longjing", "Qianmei", "Shuchazao",
                        "Anhui"),
        landrace_words=("Dabaicha", "Xiaoyecha", "Dayecha", "Qunti", "Zhongyecha", "Maocha"),
        clone_stems=(("Zhongcha", "ZC"), ("Zhenong", "ZN"), ("Fuyun", "FY"), ("Yunkang", "YK")),
        locations=(("Hangzhou", "CHN"), ("Fuding", "CHN"), ("Anxi", "CHN"), ("Menghai", "CHN"),
                   ("Huangshan", "CHN"), ("Meitan", "CHN"), ("Kandy", "LKA")),
        seasons=(("Spring", 3, 4), ("Summer", 6, 7), ("Autumn", 9, 10)),
        storage=(("20", 0.9), ("20;30", 0.1)), offspring=(1, 2),
    ),
    "oil_tea": _Profile(
        institutes=(("CHN961", "Demo Oil-tea Research Centre, Changsha", "HOT"),
                    ("CHN962", "Demo Camellia Station, Ganzhou", "JXO")),
        founders={"wild": 0.35, "landrace": 0.5, "old_cultivar": 0.1, "foreign": 0.05},
        events={"f1clone": 0.3, "op": 0.4, "clonal": 0.3},
        founder_share=0.35, cross_span=(1978, 2012), dev_years=(8, 12), mature_years=0,
        sites=_SOUTH[:10] + _EAST[:3] + (_s("Lang Son", "Lang Son", 21.85, 106.76, 200, 700, "VNM"),),
        foreign=(("VNM", 1, "Vietnam oil-tea"),),
        cultivar_stems=("Changlin", "Xianglin", "Ganwu", "Cenruan", "Huashuo", "Huajin", "Ganyou"),
        landrace_words=("Hongqiu", "Qingqiu", "Datao", "Yinshan", "Mitao", "Xiaoguo"),
        clone_stems=(("Xianglin", "XL"), ("Changlin", "CL"), ("Ganwu", "GW"), ("Huashuo", "HS")),
        locations=(("Changsha", "CHN"), ("Ganzhou", "CHN"), ("Guilin", "CHN"), ("Fuzhou", "CHN"),
                   ("Liuzhou", "CHN"), ("Youxian", "CHN")),
        seasons=(("Autumn", 10, 11),),
        storage=(("20", 0.95), ("20;50", 0.05)), offspring=(1, 2),
    ),
    "dendrobium": _Profile(
        institutes=(("CHN971", "Demo Medicinal Plant Institute, Hangzhou", "ZDO"),
                    ("CHN972", "Demo Dendrobium Station, Longling", "YND")),
        founders={"wild": 0.55, "landrace": 0.45},
        events={"f1clone": 0.45, "self": 0.1, "clonal": 0.35, "op": 0.1},
        founder_share=0.35, cross_span=(2002, 2018), dev_years=(4, 6), mature_years=0,
        sites=(_EAST[3], _EAST[5], _EAST[2], _EAST[4]) + _YUNNAN[2:] + (_SOUTH[4], _SOUTH[5], _SOUTH[8],
                                                                       _s("Tianmushan", "Zhejiang", 30.35, 119.43, 300, 1200)),
        foreign=(),
        cultivar_stems=("Xianfeng", "Jinpi", "Yanxian", "Zhepi", "Sendou", "Tianzhen"),
        landrace_words=("Tiepi", "Hongjing", "Qingjing", "Ruanjiao"),
        clone_stems=(("Xianfeng", "XF"), ("Yandang", "YD"), ("Jinpi", "JP"), ("Sendou", "SD")),
        locations=(("Lin'an", "CHN"), ("Yueqing", "CHN"), ("Longling", "CHN"), ("Huoshan", "CHN"),
                   ("Guangnan", "CHN")),
        seasons=(("Spring", 3, 5), ("Autumn", 10, 12)),
        storage=(("30", 0.6), ("30;40", 0.2), ("20;30", 0.2)), offspring=(1, 3),
    ),
}  # fmt: skip

# Demo donor institutes abroad, one per country that sends material.
_FOREIGN_DONOR = "Demo genebank"
_SAMPSTAT = {"wild": ("100", "110"), "weedy": ("200",), "landrace": ("300",), "old_cultivar": ("500",),
             "foreign": ("500", "410"), "base": ("413",)}  # fmt: skip
_COLLSRC = {
    "wild": ("10", "11", "12"),
    "weedy": ("21", "62", "61"),
    "landrace": ("20", "21", "23", "26", "30"),
}


def _generic_profile(species: Species) -> _Profile:
    """A profile for a species added to the registry without one here."""
    crc = zlib.crc32(species.key.encode())
    base = 980 + crc % 10
    stem = "".join(ch for ch in species.key.upper() if ch.isalpha())[:3] or "ACC"
    insts = ((f"CHN{base}", f"Demo {species.common_name_en} Institute", stem),
             (f"CHN{base + 10}", f"Demo {species.common_name_en} Station", stem + "S"))  # fmt: skip
    common = dict(institutes=insts, sites=_SOUTH + _EAST, foreign=(), cultivar_stems=("Zhong", "Xin", "Jin"),
                  landrace_words=("local", "native"), locations=_SEED_LOCS)  # fmt: skip
    if species.kingdom == "animal":
        return _Profile(founders={"base": 1.0}, events={"litter": 1.0}, founder_share=0.15,
                        cross_span=(2010, 2021), dev_years=(0, 0), mature_years=1,
                        groups=(("Line A", "CHN"), ("Line B", "CHN")), storage=(("", 1.0),),
                        offspring=(2, 5), **common)  # type: ignore[arg-type]  # fmt: skip
    if species.inbred_lines:
        events = {"line": 0.8, "backcross": 0.1, "dh": 0.1}
    elif species.propagation in ("clonal", "seed_and_clonal"):
        events = {"f1clone": 0.4, "op": 0.3, "clonal": 0.3}
    else:
        events = {"outbred": 0.7, "op": 0.3}
    clonal = species.propagation in ("clonal", "seed_and_clonal")
    return _Profile(founders={"landrace": 0.6, "wild": 0.2, "old_cultivar": 0.2}, events=events,
                    founder_share=0.3, cross_span=(1995, 2016), dev_years=(5, 7), mature_years=0,
                    clone_stems=(("Zhongxuan", "ZX"),), storage=((("20" if clonal else "13"), 1.0),),
                    **common)  # type: ignore[arg-type]  # fmt: skip


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def _check_int(name: str, value: object, lo: int, hi: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, not {type(value).__name__} ({value!r})")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name} must lie in [{lo}, {hi}], not {value}; {fix}")
    return int(value)


def _check_args(
    species: object,
    variables: object,
    n_accessions: object,
    n_trials: object,
    n_reps: object,
    seed: object,
) -> tuple[int, int, int, int, list[Variable]]:
    if not isinstance(species, Species):
        raise TypeError(
            f"species must be a germplasm.Species (from load_registry()[key]), not {type(species).__name__}"
        )
    if isinstance(variables, str | bytes) or not isinstance(variables, Sequence):
        raise TypeError(
            f"variables must be a list of germplasm.Variable, not {type(variables).__name__}"
        )
    bad = [i for i, v in enumerate(variables) if not isinstance(v, Variable)]
    if bad:
        raise TypeError(f"variables[{bad[0]}] is a {type(variables[bad[0]]).__name__}, not a Variable "
                        f"(entries {bad[:10]}); pass load_traits(registry)")  # fmt: skip
    n = _check_int(
        "n_accessions", n_accessions, 10, MAX_ACCESSIONS, "ask for at least 10 accessions"
    )
    t = _check_int("n_trials", n_trials, 0, 20, "use 0 for no trials")
    r = _check_int("n_reps", n_reps, 1, 10, "use 1 to 10 replicates")
    s = _check_int("seed", seed, 0, 2**63 - 1, "use a non-negative seed")
    own = [v for v in variables if v.species == species.key]
    return n, t, r, s, own


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _pick(rng: np.random.Generator, shares: dict[str, float] | Sequence[tuple[str, float]]) -> str:
    items = list(shares.items()) if isinstance(shares, dict) else list(shares)
    p = np.array([w for _, w in items], dtype=float)
    return items[int(rng.choice(len(items), p=p / p.sum()))][0]


def _choice(rng: np.random.Generator, seq: Sequence[Any]) -> Any:
    return seq[int(rng.integers(len(seq)))]


def _date(rng: np.random.Generator, y0: int, y1: int, m0: int = 1, m1: int = 12) -> dt.date:
    """A random day in months m0..m1 of a year in [y0, y1], never after PRESENT."""
    year = int(rng.integers(y0, y1 + 1))
    start = dt.date(year, m0, 1)
    end = dt.date(year + (m1 == 12), m1 % 12 + 1, 1) - dt.timedelta(days=1)
    end = min(end, PRESENT)
    if start > end:
        start = end
    return start + dt.timedelta(days=int(rng.integers((end - start).days + 1)))


def _mcpd_date(rng: np.random.Generator, d: dt.date, p_no_day: float = 0.12) -> str:
    u = rng.random()
    if u < p_no_day:
        return f"{d.year:04d}{d.month:02d}--"
    if u < p_no_day * 1.25:
        return f"{d.year:04d}----"
    return d.strftime("%Y%m%d")


def _dms(x: float, lat: bool) -> str:
    hemi = ("N" if x >= 0 else "S") if lat else ("E" if x >= 0 else "W")
    a = abs(x)
    d = int(a)
    m = int((a - d) * 60)
    s = min(59, int(round(((a - d) * 60 - m) * 60)))
    return f"{d:02d}{m:02d}{s:02d}{hemi}" if lat else f"{d:03d}{m:02d}{s:02d}{hemi}"


# ---------------------------------------------------------------------------
# The simulation
# ---------------------------------------------------------------------------


@dataclass
class _Acc:
    inst: int
    kind: str  # founder kind or event kind
    founder: bool
    sampstat: str
    origcty: str
    year: int  # year of acquisition (founders) or cross year (progeny)
    acq: dt.date
    avail: int  # first year it may be a parent
    female: int = -1
    male: int = -1
    cross_type: str = ""
    generation: str = ""
    depth: int = 0
    sex: str = ""
    group: str = ""
    name: str = ""
    pedigree: str = ""
    site: _Site | None = None
    hybrid: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class _Kinship:
    """Additive relationships by the tabular recursion, computed on demand (Henderson 1976)."""

    def __init__(self) -> None:
        self.contrib: list[tuple[tuple[int, float], ...]] = []
        self.diag: list[float] = []
        self._memo: dict[tuple[int, int], float] = {}

    def add(self, contrib: tuple[tuple[int, float], ...], diag: float) -> None:
        self.contrib.append(contrib)
        self.diag.append(diag)

    def __call__(self, i: int, j: int) -> float:
        if i < 0 or j < 0:
            return 0.0
        if i < j:
            i, j = j, i
        if i == j:
            return self.diag[i]
        key = (i, j)
        v = self._memo.get(key)
        if v is None:
            v = sum(w * self(p, j) for p, w in self.contrib[i])
            self._memo[key] = v
        return v


class _Simulator:
    def __init__(self, species: Species, variables: list[Variable], n: int, seed: int):
        self.sp = species
        self.vars = variables
        self.n = n
        self.seed = seed
        self.prof = _PROFILES.get(species.key) or _generic_profile(species)
        self.rng = np.random.default_rng([seed, zlib.crc32(species.key.encode())])
        self.animal = species.kingdom == "animal"
        self.inbred = bool(species.inbred_lines)
        self.base_diag = 2.0 if self.inbred else 1.0
        h2 = np.array([v.heritability for v in variables], dtype=float)
        sd = np.array([v.sd for v in variables], dtype=float)
        self.sigma_a2 = h2 * sd**2 / self.base_diag  # additive variance, non-inbred base
        self.sel = self._selection_index()
        self.accs: list[_Acc] = []
        self.g = np.zeros((n, len(variables)))
        self.kin = _Kinship()
        self.names: set[str] = set()
        self.avail = np.full(n, 10_000, dtype=np.int64)
        self.sex = np.full(n, "", dtype="<U1")
        self.hybrid = np.zeros(n, dtype=bool)
        self.serial: dict[str, int] = {}

    def _selection_index(self) -> int:
        for word in ("Yield", "Gain", "Weight"):
            for i, v in enumerate(self.vars):
                if word in v.name and v.data_type == "numerical":
                    return i
        return 0

    # -- names ------------------------------------------------------------
    def _unique(self, make: Any) -> str:
        for _ in range(20):
            name = make()
            if name not in self.names:
                self.names.add(name)
                return name
        name = f"{make()}-{len(self.names)}"
        self.names.add(name)
        return name

    def _next(self, key: str, step: int = 1) -> int:
        self.serial[key] = self.serial.get(key, 0) + step
        return self.serial[key]

    def _line_code(self, acc: _Acc) -> str:
        prefix = self.prof.institutes[acc.inst][2][:2]
        yy = acc.year % 100
        return f"{prefix}{yy:02d}-{self._next(f'line{yy}', int(self.rng.integers(1, 40))):04d}"

    def _cultivar(self, stems: Sequence[str]) -> str:
        rng = self.rng
        return self._unique(
            lambda: (
                f"{_choice(rng, stems)} {int(rng.integers(1, 100 if rng.random() < 0.7 else 999))}"
            )
        )

    def _name(self, acc: _Acc) -> str:
        rng, p = self.rng, self.prof
        k = acc.kind
        if self.animal:
            if self.sp.key == "grass_carp":
                tag = "W" if acc.founder else f"F{acc.depth}"
                where = acc.site.place if acc.founder and acc.site else acc.group
                return self._unique(lambda: f"{where}-{tag}-{self._next(where + tag):03d}")
            letter = acc.group[:1].upper()
            return self._unique(
                lambda: f"{acc.group}-{letter}{self._next(acc.group, int(rng.integers(1, 30))):04d}"
            )
        if k in ("wild", "weedy"):
            place = acc.site.place if acc.site else "Wild"
            return self._unique(lambda: f"{place.replace(' ', '')}-W{self._next(place + 'W'):03d}")
        if k == "landrace":
            place = acc.site.place if acc.site else "Local"
            return self._unique(lambda: f"{place} {_choice(rng, p.landrace_words or ('local',))}")
        if k == "foreign":
            stem = next(s for c, _, s in p.foreign if c == acc.origcty)
            if stem in ("IR", "TV", "RD", "OM"):
                return self._unique(lambda: f"{stem} {int(rng.integers(5, 99999))}-like")
            return self._unique(lambda: f"{stem} {int(rng.integers(1, 200))}")
        if k == "old_cultivar":
            return self._cultivar(p.cultivar_stems or ("Zhong",))
        if k == "hybrid":
            return self._cultivar(p.hybrid_stems or p.cultivar_stems or ("Zhongza",))
        if k in ("clonal", "f1clone", "op", "self") and p.clone_stems:
            stem, abbr = _choice(rng, p.clone_stems)
            if acc.sampstat == "500":
                return self._unique(lambda: f"{stem} {int(rng.integers(1, 300))}")
            return self._unique(lambda: f"{stem}-{abbr}{int(rng.integers(100, 1000))}")
        if k == "dh":
            return self._unique(
                lambda: f"DH{acc.year % 100:02d}-{self._next('dh', int(rng.integers(1, 9))):03d}"
            )
        code = self._unique(lambda: self._line_code(acc))
        if acc.sampstat == "500":
            return f"{self._cultivar(p.cultivar_stems or ('Zhong',))};{code}"
        return code

    # -- founders ---------------------------------------------------------
    def _founder(self, i: int) -> _Acc:
        rng, p = self.rng, self.prof
        kind = _pick(rng, p.founders)
        start = p.cross_span[0]
        n_inst = len(p.institutes)
        inst = int(rng.integers(n_inst))
        site: _Site | None = None
        group = ""
        if kind == "base":
            group, origin = _choice(rng, p.groups)
            sampstat = _SAMPSTAT["base"][0] if rng.random() < 0.8 else ""
            if p.sites:  # wild-caught broodstock
                site = _choice(rng, p.sites)
                origin = site.country
            acq = _date(rng, start - 3 - p.mature_years, start - 1 - p.mature_years)
            year = acq.year
        else:
            origin = "CHN"
            if kind in ("wild", "weedy", "landrace") and p.sites:
                site = _choice(rng, p.sites)
                origin = site.country
            if kind == "foreign":
                origin = _pick(rng, [(c, w) for c, w, _ in p.foreign]) if p.foreign else "CHN"
                if not p.foreign:
                    kind = "old_cultivar"
            sampstat = _choice(rng, _SAMPSTAT[kind])
            # Most founders are in the collection before crossing starts; some come later.
            early = rng.random() < 0.7
            year = int(
                rng.integers(start - 18, start)
                if early
                else rng.integers(start, p.cross_span[1] - 1)
            )
            acq = _date(rng, year, year)
        acc = _Acc(inst=inst, kind=kind, founder=True, sampstat=sampstat, origcty=origin, year=year,
                   acq=acq, avail=year + p.mature_years, site=site, group=group)  # fmt: skip
        if self.animal:
            acc.sex = "M" if rng.random() < 0.3 else "F"
        acc.name = self._name(acc)
        self.kin.add((), self.base_diag)
        self.g[i] = rng.normal(0.0, np.sqrt(self.sigma_a2 * self.base_diag))
        return acc

    # -- progeny ----------------------------------------------------------
    def _parents(self, pool: np.ndarray, k: int) -> list[int]:
        """k distinct parents from the pool, favouring high selection-index values."""
        if len(pool) == 0:
            return []
        k = min(k, len(pool))
        if self.vars:
            x = self.g[pool, self.sel]
            sdv = x.std()
            z = (x - x.mean()) / sdv if sdv > 0 else np.zeros_like(x)
            w = np.exp(0.8 * np.clip(z, -3, 3))
        else:
            w = np.ones(len(pool))
        return [int(v) for v in self.rng.choice(pool, size=k, replace=False, p=w / w.sum())]

    def _available(
        self, upto: int, year: int, sex: str = "", hybrid: bool | None = None
    ) -> np.ndarray:
        ok = self.avail[:upto] <= year
        if not ok.any():  # nothing old enough yet: any earlier accession will do
            ok = np.ones(upto, dtype=bool)
        if sex and (self.sex[:upto][ok] == sex).any():
            ok &= self.sex[:upto] == sex
        if hybrid is not None and (self.hybrid[:upto][ok] == hybrid).any():
            ok &= self.hybrid[:upto] == hybrid
        return np.flatnonzero(ok)

    def _append(self, acc: _Acc) -> None:
        i = len(self.accs)
        self.accs.append(acc)
        self.avail[i], self.sex[i], self.hybrid[i] = acc.avail, acc.sex, acc.hybrid

    def _progeny_event(self, i: int, kind: str, year: int) -> int:
        """One cross event (a line, a litter, a family): its offspring as new accessions."""
        rng, p = self.rng, self.prof
        n_off = int(rng.integers(p.offspring[0], p.offspring[1] + 1))
        if kind in ("clonal", "self", "dh", "hybrid", "backcross"):
            n_off = 1 if kind != "dh" else n_off
        n_off = min(n_off, self.n - i)
        if self.animal:
            dams = self._available(i, year, sex="F")
            sires = self._available(i, year, sex="M")
            dam = self._parents(dams, 1)[0]
            group = self.accs[dam].group
            same = np.array([s for s in sires if self.accs[s].group == group], dtype=int)
            sire = self._parents(same if len(same) else sires, 1)[0]
            female, male = dam, sire
            group_out = group
        else:
            pool = self._available(i, year, hybrid=False)
            if kind in ("clonal", "self", "op"):
                female, male = self._parents(pool, 1)[0], -1
            else:
                two = self._parents(pool, 2)
                female, male = (two + [-1])[:2]
            group_out = ""
        unknown = ""
        if kind not in ("clonal", "self", "op") and rng.random() < 0.05:
            unknown = "male" if rng.random() < 0.6 else "female"
        for k in range(n_off):
            self._append(self._offspring(i + k, kind, year, female, male, unknown, group_out))
        return n_off

    def _offspring(self, i: int, kind: str, year: int, female: int, male: int, unknown: str,
                   group: str) -> _Acc:  # fmt: skip
        rng, p = self.rng, self.prof
        kin, a2 = self.kin, self.sigma_a2
        f_par = -1 if unknown == "female" else female
        m_par = -1 if unknown == "male" else male
        dev = int(rng.integers(p.dev_years[0], p.dev_years[1] + 1))
        inst = (
            self.accs[female].inst if rng.random() < 0.85 else int(rng.integers(len(p.institutes)))
        )
        gen = ""
        cross_type = "BIPARENTAL"
        hybrid = False
        sampstat = "410"

        def founder_like() -> np.ndarray:
            return rng.normal(0.0, np.sqrt(a2 * self.base_diag))

        def gv(j: int) -> np.ndarray:
            return self.g[j] if j >= 0 else founder_like()

        def fx(j: int) -> float:
            return kin.diag[j] - 1.0 if j >= 0 else self.base_diag - 1.0

        a_fm = kin(f_par, m_par)
        half = tuple((j, 0.5) for j in (f_par, m_par) if j >= 0)
        depth = 1 + max(self.accs[j].depth for j in (female, male) if j >= 0)
        if kind in ("line", "dh"):
            # Inbred line from a cross, selfed (or doubled) to homozygosity.
            var_m = 0.5 * (1 - (fx(f_par) + fx(m_par)) / 2) + (1 - 0.5 * a_fm)
            g = (gv(f_par) + gv(m_par)) / 2 + rng.normal(0, np.sqrt(a2 * var_m))
            kin.add(half, 2.0)
            if kind == "dh":
                cross_type, gen, dev, sampstat = "DOUBLE_HAPLOID", "DH", max(2, dev - 3), "414"
            else:
                gen = f"F{min(8, dev + int(rng.integers(0, 2)))}"
                sampstat = "500" if rng.random() < 0.3 else _choice(rng, ("410", "414"))
        elif kind == "backcross":
            b = int(rng.integers(1, 4))
            wr = 1 - 0.5 ** (b + 1)
            var_m = (
                wr
                * (0.5 * (1 - (fx(f_par) + fx(m_par)) / 2) + (1 - 0.5 * a_fm))
                * 4
                * wr
                * (1 - wr)
            )
            g = wr * gv(f_par) + (1 - wr) * gv(m_par) + rng.normal(0, np.sqrt(a2 * max(var_m, 0)))
            kin.add(tuple((j, w) for j, w in ((f_par, wr), (m_par, 1 - wr)) if j >= 0), 2.0)
            cross_type, gen = "BACKCROSS", f"BC{b}F{max(4, dev - b)}"
            sampstat = "500" if rng.random() < 0.3 else "410"
        elif kind == "hybrid":
            var_m = 0.5 * (1 - (fx(f_par) + fx(m_par)) / 2)
            g = (gv(f_par) + gv(m_par)) / 2 + rng.normal(0, np.sqrt(a2 * var_m))
            kin.add(half, 1.0 + 0.5 * a_fm)
            gen, sampstat, hybrid, dev = "F1", "412", True, int(rng.integers(2, 5))
        elif kind == "clonal":
            g = self.g[female].copy()
            kin.add(((female, 1.0),), kin.diag[female])
            cross_type, gen, sampstat = "CLONAL", "", "416"
            depth = self.accs[female].depth
        elif kind == "op":
            var_m = 0.5 * (1 - (fx(female) + fx(-1)) / 2)
            g = (self.g[female] + founder_like()) / 2 + rng.normal(0, np.sqrt(a2 * var_m))
            kin.add(((female, 0.5),), 1.0)
            cross_type, gen = "OPEN_POLLINATED", "F1"
            sampstat = "416" if self.sp.propagation != "seed" else "410"
        elif kind == "self":
            var_m = 0.5 * (1 - fx(female))
            g = self.g[female] + rng.normal(0, np.sqrt(a2 * var_m))
            kin.add(((female, 1.0),), 1.0 + 0.5 * kin.diag[female])
            cross_type, gen, sampstat = "SELF", "S1", "410"
        else:  # outbred cross: f1clone, outbred, litter, family
            var_m = 0.5 * (1 - (fx(f_par) + fx(m_par)) / 2)
            g = (gv(f_par) + gv(m_par)) / 2 + rng.normal(0, np.sqrt(a2 * var_m))
            kin.add(half, 1.0 + 0.5 * a_fm)
            gen = f"G{depth}" if self.animal else "F1"
            if self.animal:
                sampstat = "400" if rng.random() < 0.85 else ""
            elif kind == "f1clone":
                sampstat = "416"
        if (
            sampstat in ("416", "410")
            and kind in ("clonal", "f1clone", "op")
            and rng.random() < 0.3
        ):
            sampstat = "500"
        self.g[i] = g
        if self.animal:
            acq = _date(rng, year, year, 3, 8) if self.sp.key == "grass_carp" else (
                _date(rng, year, year) + dt.timedelta(days=114))  # fmt: skip
            acq = min(acq, PRESENT)
            avail = acq.year + p.mature_years
        else:
            acq = _date(rng, min(year + dev, PRESENT.year), min(year + dev, PRESENT.year))
            avail = acq.year
        acc = _Acc(inst=inst, kind=kind, founder=False, sampstat=sampstat, origcty="CHN", year=year,
                   acq=acq, avail=avail, female=f_par, male=m_par, cross_type=cross_type, generation=gen,
                   depth=depth, group=group, hybrid=hybrid)  # fmt: skip
        if self.animal:
            acc.sex = "M" if rng.random() < 0.5 else "F"
        acc.name = self._name(acc)
        acc.pedigree = self._purdy(acc)
        return acc

    def _purdy(self, acc: _Acc) -> str:
        def nm(j: int) -> str:
            return self.accs[j].name.split(";")[0] if j >= 0 else "UNKNOWN"

        f, m = nm(acc.female), nm(acc.male)
        if acc.cross_type == "CLONAL":
            return f
        if acc.cross_type == "OPEN_POLLINATED":
            return f"{f}/OP"
        if acc.cross_type == "SELF":
            return f"{f}/SELF"
        if acc.cross_type == "BACKCROSS":
            return f"{f}*{int(acc.generation[2]) + 1}/{m}"
        return f"{f}/{m}"

    def run(self) -> None:
        rng, p = self.rng, self.prof
        n_f = max(4, int(round(self.n * p.founder_share)))
        if self.animal:
            n_f = max(n_f, 6)
        for i in range(n_f):
            acc = self._founder(i)
            if self.animal and i < 2:  # both sexes among founders
                acc.sex = "MF"[i]
            self._append(acc)
        first, last = p.cross_span
        i = n_f
        while i < self.n:
            # Cross years advance with the rows, so later rows descend from earlier ones.
            frac = (i - n_f) / max(1, self.n - n_f)
            year = int(
                np.clip(round(first + frac * (last - first) + rng.normal(0, 0.7)), first, last)
            )
            i += self._progeny_event(i, _pick(rng, p.events), year)

    # -- tables -----------------------------------------------------------
    def accenumbs(self) -> list[str]:
        nums: list[str] = []
        counters = [int(self.rng.integers(1, 500)) for _ in self.prof.institutes]
        for a in self.accs:
            counters[a.inst] += int(self.rng.integers(1, 4))
            nums.append(f"{self.prof.institutes[a.inst][2]}{counters[a.inst]:05d}")
        return nums

    def passport(self, nums: list[str]) -> pl.DataFrame:
        rng, p, sp = self.rng, self.prof, self.sp
        insts = [c for c, _, _ in p.institutes]
        known = {c for c, _, _ in p.institutes}
        rows: list[dict[str, str]] = []
        for a, num in zip(self.accs, nums, strict=True):
            r = dict.fromkeys(MCPD_COLUMNS, "")
            inst = insts[a.inst]
            r.update(PUID=f"urn:breedhub:demo:{sp.key}:{inst}:{num}", INSTCODE=inst, ACCENUMB=num,
                     GENUS=sp.genus, SPECIES=sp.species, SPAUTHOR=sp.authority,
                     CROPNAME=sp.common_name_en, ACCENAME=a.name, ORIGCTY=a.origcty,
                     SAMPSTAT=a.sampstat, ACQDATE=_mcpd_date(rng, a.acq, 0.1 if a.founder else 0.03))  # fmt: skip
            if a.site is not None:
                s = a.site
                lat = s.lat + rng.uniform(-0.3, 0.3)
                lon = s.lon + rng.uniform(-0.3, 0.3)
                coll = a.acq - dt.timedelta(days=int(rng.integers(0, 400)))
                coll = max(coll, dt.date(a.acq.year, 1, 1))
                r.update(DECLATITUDE=f"{lat:.4f}", DECLONGITUDE=f"{lon:.4f}", LATITUDE=_dms(lat, True),
                         LONGITUDE=_dms(lon, False), COORDUNCERT=str(_choice(rng, (100, 500, 1000, 5000))),
                         COORDDATUM="WGS84", GEOREFMETH="GPS" if a.acq.year >= 2000 else "GAZETTEER",
                         ELEVATION=str(int(rng.integers(s.elev[0], s.elev[1] + 1))),
                         COLLSITE=f"{s.place}, {s.province}" + ("" if s.country == "CHN" else f" ({s.country})"),
                         COLLDATE=_mcpd_date(rng, min(coll, a.acq), 0.15),
                         COLLNUMB=f"{coll.year}-{s.place[:2].upper()}-{int(rng.integers(1, 400)):03d}",
                         COLLCODE=inst)  # fmt: skip
                if s.country == "CHN" and rng.random() < 0.3:
                    r["COLLMISSID"] = f"{s.province.split(' ')[0]} germplasm survey {coll.year}"
                r["COLLSRC"] = (
                    "15"
                    if self.sp.key == "grass_carp"
                    else _choice(rng, _COLLSRC.get(a.kind, ("99",)))
                )
            elif a.founder and not self.animal:
                r["COLLSRC"] = _choice(rng, ("40", "50", "30")) if a.kind != "foreign" else "40"
            if not a.founder and not self.animal:
                r["BREDCODE"] = inst
                r["ANCEST"] = a.pedigree
                r["COLLSRC"] = "40" if rng.random() < 0.7 else ""
            if a.kind == "foreign" and rng.random() < 0.8:
                code = f"{a.origcty}9{int(rng.integers(0, 3)):02d}"
                known.add(code)
                r.update(DONORCODE=code, DONORNAME=f"{_FOREIGN_DONOR} ({a.origcty})",
                         DONORNUMB=f"{a.origcty[:2]}-{int(rng.integers(1, 99999)):05d}")  # fmt: skip
            elif len(insts) > 1 and rng.random() < 0.08:
                other = _choice(rng, [c for c in insts if c != inst])
                r["DONORCODE"] = other
            if len(insts) > 1 and rng.random() < 0.15:
                other = _choice(rng, [c for c in insts if c != inst])
                r["OTHERNUMB"] = f"{other}:{num[:3]}{int(rng.integers(1, 99999)):05d}"
            if not self.animal:
                r["STORAGE"] = _pick(rng, p.storage)
                r["MLSSTAT"] = (
                    ("1" if rng.random() < p.mls_share else "0") if rng.random() < 0.9 else ""
                )
                if rng.random() < 0.1 and len(insts) > 1:
                    r["DUPLSITE"] = _choice(rng, [c for c in insts if c != inst])
                if a.kind in ("foreign", "old_cultivar") and rng.random() < 0.4:
                    r["REMARKS"] = "demo accession; name invented"
            else:
                r["STORAGE"] = _pick(rng, p.storage)
                bits = [f"sex={a.sex}", f"{'breed' if sp.key == 'pig' else 'strain'}={a.group}"]
                if r["STORAGE"] == "99":
                    bits.append(
                        "kept as live animals" if sp.key == "pig" else "kept as live broodstock"
                    )
                r["REMARKS"] = "; ".join(bits)
            if not self.animal and rng.random() < 0.1 and not a.name.count(";"):
                r["ACCENAME"] = f"{a.name};{self._synonym(a)}"
            rows.append(r)
        self.known_institutes = known
        return pl.DataFrame(rows, schema=dict.fromkeys(MCPD_COLUMNS, pl.String))

    def _synonym(self, a: _Acc) -> str:
        site = a.site
        if a.kind == "landrace" and site is not None:
            words = self.prof.landrace_words or ("local",)
            return self._unique(lambda: f"{site.place} {_choice(self.rng, words)}")
        return self._unique(
            lambda: f"{self.prof.institutes[a.inst][2]}-{int(self.rng.integers(1, 9999)):04d}"
        )

    def pedigree(self, nums: list[str]) -> pl.DataFrame:
        insts = [c for c, _, _ in self.prof.institutes]

        def ref(a: _Acc, j: int) -> str:
            if j < 0:
                return ""
            pa = self.accs[j]
            return nums[j] if pa.inst == a.inst else f"{insts[pa.inst]}:{nums[j]}"

        cols: dict[str, list[str]] = {c: [] for c in PEDIGREE_COLUMNS}
        for a, num in zip(self.accs, nums, strict=True):
            vals = (insts[a.inst], num, ref(a, a.female), ref(a, a.male), a.cross_type, a.generation,
                    "" if a.founder else str(a.year), a.pedigree)  # fmt: skip
            for c, v in zip(PEDIGREE_COLUMNS, vals, strict=True):
                cols[c].append(v)
        return pl.DataFrame(cols, schema=dict.fromkeys(PEDIGREE_COLUMNS, pl.String))


def _trials(sim: _Simulator, n_trials: int) -> list[dict[str, Any]]:
    """The studies: one dict per trial x location x season."""
    rng, p = sim.rng, sim.prof
    locs = list(p.locations or _SEED_LOCS)
    key = sim.sp.key.upper().replace("_", "-")
    studies: list[dict[str, Any]] = []
    used: set[tuple[int, str]] = set()
    for t in range(n_trials):
        year = PRESENT.year - t // 2 - int(rng.integers(0, 2))
        home = [loc for loc in locs if loc[1] == "CHN"]
        loc = _choice(rng, home if rng.random() < 0.85 else locs)
        while (year, loc[0]) in used:
            loc = _choice(rng, locs)
            if all((year, x[0]) in used for x in locs):
                year -= 1
        used.add((year, loc[0]))
        trial = f"{key}-{year}-{loc[0]}"
        sites = [(loc[0], _choice(rng, p.seasons))]
        if rng.random() < 0.6:
            if len(p.seasons) > 1 and rng.random() < 0.5:
                sites.append((loc[0], _choice(rng, [s for s in p.seasons if s != sites[0][1]])))
            else:
                other = [x for x in locs if x[0] != loc[0]]
                sites.append((_choice(rng, other)[0], sites[0][1]))
        for place, season in sites:
            studies.append({"trial": trial, "study": f"{trial}-{place}-{season[0]}" if place != loc[0]
                            else f"{trial}-{season[0]}", "location": place, "year": year, "season": season})  # fmt: skip
    return studies


def _observations(sim: _Simulator, nums: list[str], n_trials: int, n_reps: int) -> pl.DataFrame:
    rng, variables = sim.rng, sim.vars
    if not variables or n_trials == 0:
        return _empty(OBSERVATION_COLUMNS)
    insts = [c for c, _, _ in sim.prof.institutes]
    sd = np.array([v.sd for v in variables])
    h2 = np.array([v.heritability for v in variables])
    mean = np.array([v.mean for v in variables])
    sd_e = sd * np.sqrt(1 - h2)
    reps = 1 if sim.animal else n_reps
    frames: list[pl.DataFrame] = []
    n = sim.n
    for st in _trials(sim, n_trials):
        share = rng.uniform(0.6, 0.8)
        chosen = np.sort(rng.choice(n, size=max(2, int(round(share * n))), replace=False))
        m = len(chosen)
        study_eff = rng.normal(0, 0.5 * sd)
        ncol = max(1, int(math.ceil(math.sqrt(m))))
        block_size = max(5, min(20, m // 10))
        acc_idx, rep_col, unit_no, blk, row, col = [], [], [], [], [], []
        for r in range(reps):
            order = chosen if sim.animal else rng.permutation(chosen)
            plots = np.arange(m)
            acc_idx.append(order)
            rep_col.append(np.full(m, r + 1))
            unit_no.append(r * m + plots + 1)
            blk.append(r * (m // block_size + 1) + plots // block_size + 1)
            rows_per_rep = (m + ncol - 1) // ncol
            row.append(r * rows_per_rep + plots // ncol + 1)
            col.append(plots % ncol + 1)
        a = np.concatenate(acc_idx)
        rep = np.concatenate(rep_col)
        rep_eff = rng.normal(0, 0.15 * sd, size=(reps, len(variables)))
        resid = rng.normal(0, 1, size=(len(a), len(variables))) * sd_e
        y = mean + sim.g[a] + study_eff + rep_eff[rep - 1] + resid
        units = np.concatenate(unit_no)
        season, m0, m1 = st["season"]
        base_days = [_date(rng, st["year"], st["year"], m0, m1) for _ in variables]
        if sim.animal:
            unit_names = np.array(nums, dtype=object)[a]
            pens = (np.arange(len(a)) // 12 + 1).astype(str)
            block_s, row_s, col_s = pens, np.full(len(a), ""), np.full(len(a), "")
        else:
            unit_names = np.array([f"{st['study']}-P{u:04d}" for u in units], dtype=object)
            block_s = np.concatenate(blk).astype(str)
            row_s, col_s = np.concatenate(row).astype(str), np.concatenate(col).astype(str)
        for v_i, var in enumerate(variables):
            vals = _finish(y[:, v_i], var)
            keep = rng.random(len(a)) >= 0.02
            jitter = rng.integers(0, 4, size=len(a))
            dates = [(base_days[v_i] + dt.timedelta(days=int(d))) for d in jitter]
            dates_s = np.array([min(d, PRESENT).isoformat() for d in dates], dtype=object)
            frames.append(pl.DataFrame({
                "trial": st["trial"], "study": st["study"], "location": st["location"],
                "year": str(st["year"]), "season": season,
                "instcode": np.array([insts[sim.accs[j].inst] for j in a], dtype=object)[keep],
                "accenumb": np.array(nums, dtype=object)[a][keep],
                "unit": unit_names[keep], "replicate": rep.astype(str)[keep], "block": block_s[keep],
                "row": row_s[keep], "col": col_s[keep], "variable": var.name, "value": vals[keep],
                "date": dates_s[keep],
            }, schema=dict.fromkeys(OBSERVATION_COLUMNS, pl.String)))  # fmt: skip
    return pl.concat(frames, how="vertical")


def _decimals(var: Variable) -> int:
    if var.data_type != "numerical" or var.unit in ("d", "count", "score"):
        return 0
    return int(np.clip(2 - math.floor(math.log10(max(var.sd, 1e-9))), 0, 2))


def _finish(y: np.ndarray, var: Variable) -> np.ndarray:
    """Clip to the scale, map to categories, round and format as text."""
    lo = -np.inf if var.min is None else var.min
    hi = np.inf if var.max is None else var.max
    y = np.clip(y, lo, hi)
    if var.categories:
        cats = np.array(sorted(float(c["value"]) for c in var.categories))
        y = cats[np.abs(y[:, None] - cats[None, :]).argmin(axis=1)]
    d = _decimals(var)
    y = np.round(y, d)
    if d == 0:
        return y.astype(np.int64).astype(str).astype(object)
    return np.array([f"{v:.{d}f}" for v in y], dtype=object)


def simulate_germplasm(
    species: Species,
    variables: list[Variable],
    *,
    n_accessions: int = 300,
    n_trials: int = 2,
    n_reps: int = 2,
    seed: int = 0,
) -> SimulatedGermplasm:
    """Simulate one species' germplasm: passports, pedigree, phenotypes and the true values.

    Founders (wild collections, landraces, old and foreign cultivars, base
    animals) get additive genetic values drawn from N(0, h2 sd^2); later
    accessions descend from crosses among earlier ones over several
    generations, following the species' biology: inbred lines (rice, rapeseed,
    pepper; also backcrosses, doubled haploids and F1 hybrids), clonal and
    open-pollinated selections (tea, oil-tea, dendrobium), litters of sires and
    dams (pig), full-sib families (grass carp). A progeny's value is its parents'
    average plus Mendelian sampling, with the variance reduced by the parents'
    inbreeding (the tabular method of Henderson 1976); clones equal their
    parent. Parents are chosen with a preference for high values of the first
    yield-like variable, so there is genetic progress over the years.

    Phenotypes are ``mean + g + study + replicate + residual``, with the
    residual variance ``(1 - h2) sd^2`` so that plot-level heritability is about
    ``h2``, clipped to the variable's scale, mapped to the nearest category for
    ordinal variables, rounded, and about 2 % left out as missing.

    Parameters
    ----------
    species
        The species, e.g. ``load_registry()["rice"]``.
    variables
        Observation variables; those of other species are ignored, so the whole
        of :func:`germplasm.load_traits` may be passed.
    n_accessions
        Number of accessions, 10 to 100 000.
    n_trials
        Number of trials (each with one or two studies), 0 to 20.
    n_reps
        Replicates per study, 1 to 10 (animals are recorded once per study).
    seed
        Seed of the random generator; with the species key it fixes the output.

    Returns
    -------
    SimulatedGermplasm

    Raises
    ------
    TypeError
        If ``species`` is not a :class:`~germplasm.Species`, ``variables`` not a
        list of :class:`~germplasm.Variable`, or a count not an int.
    ValueError
        If a count is out of range (e.g. fewer than 10 accessions).

    Examples
    --------
    >>> from breedhub.germplasm import load_registry, load_traits
    >>> reg = load_registry()
    >>> sim = simulate_germplasm(reg["rice"], load_traits(reg), n_accessions=50, seed=1)
    >>> sim.passport.height, sim.passport["GENUS"][0]
    (50, 'Oryza')
    >>> sorted(sim.genetic_values["variable"].unique())[:2]
    ['DaysToHeading_d', 'GrainYield_t_ha']
    """
    n, t, r, seed, own = _check_args(species, variables, n_accessions, n_trials, n_reps, seed)
    sim = _Simulator(species, own, n, seed)
    sim.run()
    nums = sim.accenumbs()
    passport = sim.passport(nums)
    pedigree = sim.pedigree(nums)
    observations = _observations(sim, nums, t, r)
    insts = [c for c, _, _ in sim.prof.institutes]
    gv = pl.DataFrame(
        {
            "instcode": np.repeat([insts[a.inst] for a in sim.accs], len(own)).astype(object),
            "accenumb": np.repeat(np.array(nums, dtype=object), len(own)),
            "variable": np.tile(np.array([v.name for v in own], dtype=object), n),
            "genetic_value": sim.g.reshape(-1),
        },
        schema={"instcode": pl.String, "accenumb": pl.String, "variable": pl.String,
                "genetic_value": pl.Float64},
    )  # fmt: skip
    all_codes = countries()
    inst_rows = [(c, name, c[:3]) for c, name, _ in sim.prof.institutes]
    inst_rows += [(c, f"{_FOREIGN_DONOR} ({all_codes.get(c[:3], c[:3])})", c[:3])
                  for c in sorted(sim.known_institutes - set(insts))]  # fmt: skip
    institutes = pl.DataFrame(inst_rows, schema={"code": pl.String, "name": pl.String,
                                                 "country": pl.String}, orient="row")  # fmt: skip
    provenance = {
        "software": "breedhub",
        "function": "breedhub.germplasm.simulate.simulate_germplasm",
        "parameters": {"species": species.key, "variables": [v.name for v in own], "n_accessions": n,
                       "n_trials": t, "n_reps": r, "seed": seed},
        "present": PRESENT.isoformat(),
    }  # fmt: skip
    return SimulatedGermplasm(
        species.key, passport, pedigree, observations, gv, institutes, provenance
    )
