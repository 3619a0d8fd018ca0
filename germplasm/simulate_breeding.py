"""The breeding history of a simulated collection: founders, crosses, pedigree, true values.

:class:`Simulator` grows one species' collection row by row: founders
first, then progeny of earlier rows following the species' biology (inbred
lines, backcrosses, doubled haploids, F1 hybrids, clones, open-pollinated
families, litters, full-sib families), each with additive genetic values
from its parents' average plus Mendelian sampling reduced by their
inbreeding (Henderson 1976), and names its accessions and writes the
passport and pedigree tables.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from breedhub.germplasm.mcpd import COLUMNS as MCPD_COLUMNS
from breedhub.germplasm.simulate_draws import PRESENT, choice, dms, mcpd_date, pick, random_date
from breedhub.germplasm.simulate_profiles import (
    COLLSRC,
    FOREIGN_DONOR,
    FOUNDER_SAMPSTAT,
    Site,
    profile_for,
)
from breedhub.germplasm.species import Species
from breedhub.germplasm.traits import Variable

__all__ = ["PEDIGREE_COLUMNS", "Simulator"]

PEDIGREE_COLUMNS = (
    "INSTCODE", "ACCENUMB", "FEMALE_PARENT", "MALE_PARENT", "CROSS_TYPE", "GENERATION",
    "CROSS_YEAR", "PEDIGREE",
)  # fmt: skip


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
    site: Site | None = None
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


class Simulator:
    """One species' collection: :meth:`run` breeds it, then the table methods write it."""

    def __init__(self, species: Species, variables: list[Variable], n: int, seed: int):
        self.sp = species
        self.vars = variables
        self.n = n
        self.seed = seed
        self.prof = profile_for(species)
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
                f"{choice(rng, stems)} {int(rng.integers(1, 100 if rng.random() < 0.7 else 999))}"
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
            return self._unique(lambda: f"{place} {choice(rng, p.landrace_words or ('local',))}")
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
            stem, abbr = choice(rng, p.clone_stems)
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
        kind = pick(rng, p.founders)
        start = p.cross_span[0]
        n_inst = len(p.institutes)
        inst = int(rng.integers(n_inst))
        site: Site | None = None
        group = ""
        if kind == "base":
            group, origin = choice(rng, p.groups)
            sampstat = FOUNDER_SAMPSTAT["base"][0] if rng.random() < 0.8 else ""
            if p.sites:  # wild-caught broodstock
                site = choice(rng, p.sites)
                origin = site.country
            acq = random_date(rng, start - 3 - p.mature_years, start - 1 - p.mature_years)
            year = acq.year
        else:
            origin = "CHN"
            if kind in ("wild", "weedy", "landrace") and p.sites:
                site = choice(rng, p.sites)
                origin = site.country
            if kind == "foreign":
                origin = pick(rng, [(c, w) for c, w, _ in p.foreign]) if p.foreign else "CHN"
                if not p.foreign:
                    kind = "old_cultivar"
            sampstat = choice(rng, FOUNDER_SAMPSTAT[kind])
            # Most founders are in the collection before crossing starts; some come later.
            early = rng.random() < 0.7
            year = int(
                rng.integers(start - 18, start)
                if early
                else rng.integers(start, p.cross_span[1] - 1)
            )
            acq = random_date(rng, year, year)
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
                sampstat = "500" if rng.random() < 0.3 else choice(rng, ("410", "414"))
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
        acq, avail = self._acquired(year, dev)
        acc = _Acc(inst=inst, kind=kind, founder=False, sampstat=sampstat, origcty="CHN", year=year,
                   acq=acq, avail=avail, female=f_par, male=m_par, cross_type=cross_type, generation=gen,
                   depth=depth, group=group, hybrid=hybrid)  # fmt: skip
        if self.animal:
            acc.sex = "M" if rng.random() < 0.5 else "F"
        acc.name = self._name(acc)
        acc.pedigree = self._purdy(acc)
        return acc

    def _acquired(self, year: int, dev: int) -> tuple[dt.date, int]:
        """When an offspring born (or crossed) in ``year`` is acquired, after ``dev``
        years of development for a plant; and the year it can first be a parent."""
        rng, p = self.rng, self.prof
        if self.animal:
            acq = random_date(rng, year, year, 3, 8) if self.sp.key == "grass_carp" else (
                random_date(rng, year, year) + dt.timedelta(days=114))  # fmt: skip
            acq = min(acq, PRESENT)
            return acq, acq.year + p.mature_years
        acq = random_date(rng, min(year + dev, PRESENT.year), min(year + dev, PRESENT.year))
        return acq, acq.year

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
            i += self._progeny_event(i, pick(rng, p.events), year)

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
                     SAMPSTAT=a.sampstat, ACQDATE=mcpd_date(rng, a.acq, 0.1 if a.founder else 0.03))  # fmt: skip
            if a.site is not None:
                s = a.site
                lat = s.lat + rng.uniform(-0.3, 0.3)
                lon = s.lon + rng.uniform(-0.3, 0.3)
                coll = a.acq - dt.timedelta(days=int(rng.integers(0, 400)))
                coll = max(coll, dt.date(a.acq.year, 1, 1))
                r.update(DECLATITUDE=f"{lat:.4f}", DECLONGITUDE=f"{lon:.4f}", LATITUDE=dms(lat, True),
                         LONGITUDE=dms(lon, False), COORDUNCERT=str(choice(rng, (100, 500, 1000, 5000))),
                         COORDDATUM="WGS84", GEOREFMETH="GPS" if a.acq.year >= 2000 else "GAZETTEER",
                         ELEVATION=str(int(rng.integers(s.elev[0], s.elev[1] + 1))),
                         COLLSITE=f"{s.place}, {s.province}" + ("" if s.country == "CHN" else f" ({s.country})"),
                         COLLDATE=mcpd_date(rng, min(coll, a.acq), 0.15),
                         COLLNUMB=f"{coll.year}-{s.place[:2].upper()}-{int(rng.integers(1, 400)):03d}",
                         COLLCODE=inst)  # fmt: skip
                if s.country == "CHN" and rng.random() < 0.3:
                    r["COLLMISSID"] = f"{s.province.split(' ')[0]} germplasm survey {coll.year}"
                r["COLLSRC"] = (
                    "15"
                    if self.sp.key == "grass_carp"
                    else choice(rng, COLLSRC.get(a.kind, ("99",)))
                )
            elif a.founder and not self.animal:
                r["COLLSRC"] = choice(rng, ("40", "50", "30")) if a.kind != "foreign" else "40"
            if not a.founder and not self.animal:
                r["BREDCODE"] = inst
                r["ANCEST"] = a.pedigree
                r["COLLSRC"] = "40" if rng.random() < 0.7 else ""
            if a.kind == "foreign" and rng.random() < 0.8:
                code = f"{a.origcty}9{int(rng.integers(0, 3)):02d}"
                known.add(code)
                r.update(DONORCODE=code, DONORNAME=f"{FOREIGN_DONOR} ({a.origcty})",
                         DONORNUMB=f"{a.origcty[:2]}-{int(rng.integers(1, 99999)):05d}")  # fmt: skip
            elif len(insts) > 1 and rng.random() < 0.08:
                other = choice(rng, [c for c in insts if c != inst])
                r["DONORCODE"] = other
            if len(insts) > 1 and rng.random() < 0.15:
                other = choice(rng, [c for c in insts if c != inst])
                r["OTHERNUMB"] = f"{other}:{num[:3]}{int(rng.integers(1, 99999)):05d}"
            if not self.animal:
                r["STORAGE"] = pick(rng, p.storage)
                r["MLSSTAT"] = (
                    ("1" if rng.random() < p.mls_share else "0") if rng.random() < 0.9 else ""
                )
                if rng.random() < 0.1 and len(insts) > 1:
                    r["DUPLSITE"] = choice(rng, [c for c in insts if c != inst])
                if a.kind in ("foreign", "old_cultivar") and rng.random() < 0.4:
                    r["REMARKS"] = "demo accession; name invented"
            else:
                r["STORAGE"] = pick(rng, p.storage)
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
            return self._unique(lambda: f"{site.place} {choice(self.rng, words)}")
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
