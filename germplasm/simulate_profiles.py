"""The demo world of each species for the germplasm simulator: places, names, breeding.

A :class:`Profile` per species of the registry says who holds its
accessions, where wild and landrace material was collected, how names look,
which founders and progeny events (lines, backcrosses, clones, litters...)
make up its collection, and where and when it is trialled.
:func:`generic_profile` makes one for a species added to the registry
without one here. Every name and place is invented in each crop's style.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from breedhub.germplasm.species import Species

__all__ = [
    "COLLSRC",
    "FOREIGN_DONOR",
    "FOUNDER_SAMPSTAT",
    "PROFILES",
    "SEED_LOCS",
    "Profile",
    "Site",
    "generic_profile",
    "profile_for",
]


@dataclass(frozen=True)
class Site:
    place: str
    province: str
    country: str
    lat: float
    lon: float
    elev: tuple[int, int]


@dataclass(frozen=True)
class Profile:
    institutes: tuple[tuple[str, str, str], ...]  # code, name, accession-number prefix
    founders: dict[str, float]  # founder kind -> share
    events: dict[str, float]  # progeny event kind -> share
    founder_share: float
    cross_span: tuple[int, int]  # first and last cross year
    dev_years: tuple[int, int]  # years from cross to acquisition
    mature_years: int  # years from birth until an animal breeds (animals)
    sites: tuple[Site, ...]  # where wild and landrace material was collected
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
) -> Site:
    return Site(place, province, iso, lat, lon, (lo, hi))


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

SEED_LOCS = (("Wuhan", "CHN"), ("Changsha", "CHN"), ("Nanjing", "CHN"), ("Hefei", "CHN"))

PROFILES: dict[str, Profile] = {
    "rice": Profile(
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
    "rapeseed": Profile(
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
    "pepper": Profile(
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
    "pig": Profile(
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
    "grass_carp": Profile(
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
    "tea": Profile(
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
    "oil_tea": Profile(
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
    "dendrobium": Profile(
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
FOREIGN_DONOR = "Demo genebank"
FOUNDER_SAMPSTAT = {"wild": ("100", "110"), "weedy": ("200",), "landrace": ("300",), "old_cultivar": ("500",),
             "foreign": ("500", "410"), "base": ("413",)}  # fmt: skip
COLLSRC = {
    "wild": ("10", "11", "12"),
    "weedy": ("21", "62", "61"),
    "landrace": ("20", "21", "23", "26", "30"),
}


def generic_profile(species: Species) -> Profile:
    """A profile for a species added to the registry without one here."""
    crc = zlib.crc32(species.key.encode())
    base = 980 + crc % 10
    stem = "".join(ch for ch in species.key.upper() if ch.isalpha())[:3] or "ACC"
    insts = ((f"CHN{base}", f"Demo {species.common_name_en} Institute", stem),
             (f"CHN{base + 10}", f"Demo {species.common_name_en} Station", stem + "S"))  # fmt: skip
    common = dict(institutes=insts, sites=_SOUTH + _EAST, foreign=(), cultivar_stems=("Zhong", "Xin", "Jin"),
                  landrace_words=("local", "native"), locations=SEED_LOCS)  # fmt: skip
    if species.kingdom == "animal":
        return Profile(founders={"base": 1.0}, events={"litter": 1.0}, founder_share=0.15,
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
    return Profile(founders={"landrace": 0.6, "wild": 0.2, "old_cultivar": 0.2}, events=events,
                    founder_share=0.3, cross_span=(1995, 2016), dev_years=(5, 7), mature_years=0,
                    clone_stems=(("Zhongxuan", "ZX"),), storage=((("20" if clonal else "13"), 1.0),),
                    **common)  # type: ignore[arg-type]  # fmt: skip


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def profile_for(species: Species) -> Profile:
    """The profile of ``species``: its own, or :func:`generic_profile`'s."""
    return PROFILES.get(species.key) or generic_profile(species)
