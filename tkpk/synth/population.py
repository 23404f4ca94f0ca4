"""The synthetic population: households and persons over a sequence of registry snapshots.

Everything is drawn with numpy from one seeded generator, in a fixed order, so the same seed gives
the same population. Households and persons form a *universe*; each snapshot sees the households
present then (new households appear, some leave) and the persons alive in them (births, deaths).
Households may move to another kelurahan once. Per-capita expenditure is log-normal with
kelurahan and household-size effects and a small quarterly drift; a global offset is calibrated
so that the first snapshot's person-weighted headcount below the poverty line equals the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Household-size distribution of an Indonesian city (sizes 1..9), mean about 3.5.
SIZE_PROBS = np.array([0.10, 0.19, 0.23, 0.23, 0.14, 0.07, 0.025, 0.01, 0.005])
#: Share of households in each national welfare decile (1..10) within the region.
DESIL_SHARES = np.array([0.07, 0.08, 0.09, 0.10, 0.10, 0.11, 0.11, 0.11, 0.12, 0.11])
#: Payment channels of national programs and their shares of recipients.
CHANNELS = ("bri", "bni", "mandiri", "pos")
CHANNEL_PROBS = np.array([0.40, 0.25, 0.15, 0.20])

# Housing code distributions, (poorest, richest); draws interpolate by welfare percentile.
HOUSING = {
    "lantai": ([0.30, 0.12, 0.38, 0.06, 0.03, 0.09, 0.02], [0.88, 0.06, 0.05, 0.01, 0, 0, 0]),
    "dinding": ([0.70, 0.05, 0.14, 0.06, 0.02, 0.02, 0.01], [0.98, 0.005, 0.01, 0.005, 0, 0, 0]),
    "air": (
        [0.03, 0.33, 0.10, 0.20, 0.10, 0.09, 0.02, 0.02, 0.03, 0.02, 0.06],
        [0.30, 0.40, 0.15, 0.12, 0.02, 0.0, 0.01, 0, 0, 0, 0],
    ),
    "penerangan": ([0.85, 0.11, 0.01, 0.03], [0.995, 0.005, 0, 0]),
    "bbm": ([0.01, 0.84, 0.0, 0.02, 0.04, 0.07, 0.02], [0.05, 0.93, 0.005, 0, 0, 0, 0.015]),
    "bab": ([0.68, 0.15, 0.11, 0.06], [0.97, 0.02, 0.01, 0.0]),
}


@dataclass
class Areas:
    """The leaf areas with the attributes the generator needs (index = area id)."""

    frame: pd.DataFrame  # code, code_plain, name, alias, kec6, kab, effect, weight, name_ok
    kab_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    kab_count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    kab_of: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n(self) -> int:
        """Number of leaf areas."""
        return len(self.frame)


@dataclass
class Population:
    """Households and persons of the universe, with per-snapshot expenditure and DESIL."""

    snapshots: list[np.datetime64]  # first day of each snapshot month
    hh: dict[str, np.ndarray]
    persons: dict[str, np.ndarray]
    offset: float = 0.0

    @property
    def n_snapshots(self) -> int:
        """Number of snapshots."""
        return len(self.snapshots)


def month_end(month_start: np.datetime64) -> np.datetime64:
    """Last day of the month that starts at ``month_start``."""
    return (month_start.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1


def ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day arrays of a datetime64[D] array."""
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return years, months, days


def age_at(birth: np.ndarray, ref: np.datetime64) -> np.ndarray:
    """Whole years completed on ``ref`` (vectorised)."""
    by, bm, bd = ymd(birth)
    ry, rm, rd = ymd(np.array([ref], dtype="datetime64[D]"))
    before = (bm > rm[0]) | ((bm == rm[0]) & (bd > rd[0]))
    return (ry[0] - by - before).astype(np.int64)


def _draw_categorical(
    rng: np.random.Generator, u: np.ndarray, poor: list[float], rich: list[float]
) -> np.ndarray:
    """Codes 1..K drawn with probabilities interpolated between ``poor`` and ``rich`` by ``u``."""
    p_poor = np.asarray(poor, dtype=np.float64)
    p_rich = np.asarray(rich, dtype=np.float64)
    p_poor /= p_poor.sum()
    p_rich /= p_rich.sum()
    cum = np.outer(1.0 - u, np.cumsum(p_poor)) + np.outer(u, np.cumsum(p_rich))
    draw = rng.random(len(u))[:, None]
    return (draw > cum).sum(axis=1).clip(0, len(poor) - 1).astype(np.int8) + 1


def _rank_pct(values: np.ndarray) -> np.ndarray:
    """Percentile rank in (0, 1) of each value."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    return (ranks + 0.5) / max(len(values), 1)


def _group_serial(keys: np.ndarray) -> np.ndarray:
    """1-based rank of each element within its key group, in index order."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.r_[0, np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(keys)]))
    serial = np.empty(len(keys), dtype=np.int64)
    serial[order] = np.arange(len(keys)) - group_start + 1
    return serial


def _date_digits(dates: np.ndarray, female: np.ndarray | None = None) -> np.ndarray:
    """DDMMYY of each date as an integer (+40 on the day for women)."""
    years, months, days = ymd(dates)
    if female is not None:
        days = days + 40 * female.astype(np.int64)
    return days * 10_000 + months * 100 + years % 100


def _members(
    rng: np.random.Generator, sizes: np.ndarray, ref: np.datetime64
) -> dict[str, np.ndarray]:
    """Members of households of the given sizes: relationship, sex, birth date."""
    n_hh = len(sizes)
    hid = np.repeat(np.arange(n_hh), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    pos = np.arange(len(hid)) - np.repeat(starts, sizes)

    head_female = rng.random(n_hh) < np.where(sizes == 1, 0.45, 0.13)
    head_age = np.clip(rng.normal(46, 13, n_hh), 20, 90).astype(np.int64)
    head_age = np.where(sizes == 1, np.clip(head_age + 8, 20, 95), head_age)
    has_spouse = (sizes >= 2) & (rng.random(n_hh) < np.where(head_female, 0.12, 0.9))

    h_age = head_age[hid]
    h_female = head_female[hid]
    u = rng.random(len(hid))
    rel = np.full(len(hid), 3, dtype=np.int8)
    rel[pos == 0] = 1
    spouse = (pos == 1) & has_spouse[hid]
    rel[spouse] = 2
    others = pos >= np.where(has_spouse[hid], 2, 1)
    old = h_age >= 55
    # Old heads: grandchildren and children-in-law; young heads: parents and relatives.
    rel[others & old & (u < 0.30)] = 5
    rel[others & old & (u >= 0.30) & (u < 0.40)] = 4
    rel[others & old & (u >= 0.93)] = 7
    rel[others & ~old & (u < 0.06)] = 6
    rel[others & ~old & (u >= 0.06) & (u < 0.11)] = 7
    rel[others & ~old & (u >= 0.11) & (u < 0.13)] = 8

    r2 = rng.random(len(hid))
    age = np.zeros(len(hid), dtype=np.int64)
    age[rel == 1] = h_age[rel == 1]
    gap = np.clip(rng.normal(4, 3, len(hid)), -2, 15).astype(np.int64)
    age[rel == 2] = np.clip(np.where(h_female, h_age + gap, h_age - gap), 18, 95)[rel == 2]
    child_span = np.clip(h_age - 18, 1, 35)
    age[rel == 3] = (r2 * child_span).astype(np.int64)[rel == 3]
    age[rel == 4] = (20 + r2 * 20).astype(np.int64)[rel == 4]
    age[rel == 5] = (r2 * np.clip(h_age - 40, 1, 20)).astype(np.int64)[rel == 5]
    age[rel == 6] = np.clip(h_age + 20 + (r2 * 10).astype(np.int64), 40, 98)[rel == 6]
    age[rel == 7] = (5 + r2 * 65).astype(np.int64)[rel == 7]
    age[rel == 8] = (15 + r2 * 45).astype(np.int64)[rel == 8]

    sex = np.where(rng.random(len(hid)) < 0.5, 1, 2).astype(np.int8)
    sex[rel == 1] = np.where(h_female, 2, 1)[rel == 1]
    sex[rel == 2] = np.where(h_female, 1, 2)[rel == 2]
    sex[(rel == 6) & (r2 < 0.7)] = 2
    days = (age * 365.25 + rng.random(len(hid)) * 364).astype(np.int64)
    birth = ref - days.astype("timedelta64[D]")
    return {"hid": hid, "rel": rel, "sex": sex, "birth": birth}


def _area_effects(rng: np.random.Generator, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Welfare effect (log points) and population weight of every leaf area."""
    n = len(frame)
    kec = frame["kecamatan_code"].to_numpy()
    kab = frame["kab"].to_numpy()
    effect = rng.normal(0, 0.08, n)
    _, kec_idx = np.unique(kec, return_inverse=True)
    effect += rng.normal(0, 0.06, kec_idx.max() + 1)[kec_idx]
    _, kab_idx = np.unique(kab, return_inverse=True)
    if kab_idx.max() > 0:
        effect += rng.normal(0, 0.15, kab_idx.max() + 1)[kab_idx]
        effect += np.where(frame["is_kota"].to_numpy(), 0.15, 0.0)
    coastal = {"33.75.01": 0.0, "33.75.02": 0.06, "33.75.03": -0.32, "33.75.04": -0.06}
    effect += np.array([coastal.get(k, 0.0) for k in kec])
    weight = rng.lognormal(0, 0.35 if kab_idx.max() == 0 else 0.5, n)
    weight *= np.where(frame["is_kota"].to_numpy(), 3.0, 1.0)
    return effect, weight / weight.sum()


def build_areas(rng: np.random.Generator, frame: pd.DataFrame) -> Areas:
    """Attach effects, weights and kab/kota ranges to the leaf-area frame."""
    frame = frame.sort_values("code", kind="stable").reset_index(drop=True)
    effect, weight = _area_effects(rng, frame)
    frame = frame.assign(effect=effect, weight=weight)
    kab = frame["kab"].to_numpy()
    starts = np.r_[0, np.flatnonzero(kab[1:] != kab[:-1]) + 1]
    counts = np.diff(np.r_[starts, len(kab)])
    kab_of = np.repeat(np.arange(len(starts)), counts)
    return Areas(frame=frame, kab_start=starts, kab_count=counts, kab_of=kab_of)


def build_population(
    rng: np.random.Generator,
    areas: Areas,
    households: int,
    snapshots: list[np.datetime64],
    poverty_line: float,
    target_p0: float,
) -> Population:
    """Draw the universe of households and persons and their evolution over the snapshots."""
    n_snap = len(snapshots)
    quarters = [1.0] + [
        float(
            (
                snapshots[s].astype("datetime64[M]") - snapshots[s - 1].astype("datetime64[M]")
            ).astype(np.int64)
        )
        / 3.0
        for s in range(1, n_snap)
    ]
    new_counts = [0] + [int(round(0.012 * quarters[s] * households)) for s in range(1, n_snap)]
    n_hh = households + sum(new_counts)
    appear = np.repeat(np.arange(n_snap), [households] + new_counts[1:]).astype(np.int8)
    ref0 = month_end(snapshots[0])

    sizes = rng.choice(np.arange(1, 10), size=n_hh, p=SIZE_PROBS / SIZE_PROBS.sum())
    kel0 = rng.choice(areas.n, size=n_hh, p=areas.frame["weight"].to_numpy())
    people = _members(rng, sizes, ref0)

    # Expenditure: area effect, size effect, noise, quarterly drift.
    head_female = people["sex"][people["rel"] == 1] == 2
    base = (
        areas.frame["effect"].to_numpy()[kel0]
        - 0.09 * (sizes - 3.5)
        - 0.05 * head_female
        + rng.normal(0, 0.5, n_hh)
    )
    drift = np.cumsum(rng.normal(0.004, 0.06, (n_hh, n_snap)), axis=1)
    drift -= drift[:, :1]
    logexp = base[:, None] + drift

    # Leaving households, moves (once, to an area of the same kab/kota).
    leave = np.full(n_hh, n_snap, dtype=np.int8)
    move = np.full(n_hh, n_snap, dtype=np.int8)
    for s in range(1, n_snap):
        gone = (appear < s) & (leave == n_snap) & (rng.random(n_hh) < 0.004 * quarters[s])
        leave[gone] = s
        moving = (appear < s) & (move == n_snap) & (rng.random(n_hh) < 0.01 * quarters[s])
        move[moving] = s
    kab = areas.kab_of[kel0]
    kel1 = areas.kab_start[kab] + (rng.random(n_hh) * areas.kab_count[kab]).astype(np.int64)
    same = kel1 == kel0
    kel1[same] = areas.kab_start[kab[same]] + (
        (kel1[same] - areas.kab_start[kab[same]] + 1) % areas.kab_count[kab[same]]
    )
    move[kel1 == kel0] = n_snap  # a kab/kota with one area: nowhere to move

    # Persons: births and deaths between snapshots.
    hid = people["hid"]
    rel, sex, birth = people["rel"], people["sex"], people["birth"]
    born = appear[hid].copy()
    died = np.full(len(hid), n_snap, dtype=np.int8)
    extra_hid, extra_rel, extra_sex, extra_birth, extra_born = [], [], [], [], []
    for s in range(1, n_snap):
        ref = month_end(snapshots[s])
        alive = (born <= s - 1) & (died == n_snap)
        ages = age_at(birth, ref)
        p_die = (
            np.select([ages < 1, ages < 60, ages < 75], [0.005, 0.0008, 0.008], default=0.03)
            * quarters[s]
        )
        dies = alive & (rel != 1) & (rng.random(len(hid)) < p_die)
        died[dies] = s
        mother = alive & ~dies & (rel <= 2) & (sex == 2) & (ages >= 18) & (ages <= 42)
        eligible = np.unique(hid[mother])
        eligible = eligible[(leave[eligible] > s) & (appear[eligible] <= s - 1)]
        babies = eligible[rng.random(len(eligible)) < 0.025 * quarters[s]]
        start = snapshots[s - 1].astype("datetime64[D]")
        span = int((snapshots[s].astype("datetime64[D]") - start).astype(np.int64))
        extra_hid.append(babies)
        extra_rel.append(np.where(rng.random(len(babies)) < 0.85, 3, 5).astype(np.int8))
        extra_sex.append(np.where(rng.random(len(babies)) < 0.5, 1, 2).astype(np.int8))
        extra_birth.append(
            start + rng.integers(0, max(span, 1), len(babies)).astype("timedelta64[D]")
        )
        extra_born.append(np.full(len(babies), s, dtype=np.int8))
    if extra_hid:
        hid = np.concatenate([hid, *extra_hid])
        rel = np.concatenate([rel, *extra_rel])
        sex = np.concatenate([sex, *extra_sex])
        birth = np.concatenate([birth, *extra_birth])
        born = np.concatenate([born, *extra_born])
        died = np.concatenate([died, np.full(len(hid) - len(died), n_snap, dtype=np.int8)])
    order = np.argsort(hid, kind="stable")
    hid, rel, sex, birth, born, died = (a[order] for a in (hid, rel, sex, birth, born, died))
    n_p = len(hid)

    # Calibrate the expenditure level on the first snapshot (person-weighted P0 = target).
    present0 = (born == 0) & (died > 0) & (appear[hid] == 0)
    weights = np.bincount(hid[present0], minlength=n_hh).astype(np.float64)
    col = logexp[:, 0]
    order_h = np.argsort(col, kind="stable")
    cum = np.cumsum(weights[order_h])
    cut = np.searchsorted(cum, target_p0 * cum[-1])
    quantile = col[order_h][min(cut, n_hh - 1)]
    offset = float(np.log(poverty_line) - quantile)
    expenditure = np.maximum(np.exp(logexp + offset), 150_000.0)

    # DESIL: a proxy-means ranking (noisy) among the households present at each snapshot.
    pmt_noise = rng.normal(0, 0.32, n_hh)
    desil = np.zeros((n_hh, n_snap), dtype=np.int8)
    cuts = np.cumsum(DESIL_SHARES)[:-1]
    for s in range(n_snap):
        present = (appear <= s) & (leave > s)
        score = logexp[:, s] + pmt_noise + rng.normal(0, 0.05, n_hh)
        pct = np.zeros(n_hh)
        pct[present] = _rank_pct(score[present])
        desil[:, s] = np.searchsorted(cuts, pct, side="right") + 1
    # Program targeting used an older, noisier ranking (so errors are realistic).
    sel_pct = _rank_pct(logexp[:, 0] + rng.normal(0, 0.38, n_hh))
    sel_decile = (np.searchsorted(cuts, sel_pct, side="right") + 1).astype(np.int8)
    welfare = _rank_pct(base)

    # Housing (fixed per household); the coastal north has worse sanitation and water.
    coastal = areas.frame["kecamatan_code"].to_numpy()[kel0] == "33.75.03"
    u_house = np.clip(welfare - 0.12 * coastal, 0, 1)
    housing = {k: _draw_categorical(rng, u_house, p, r) for k, (p, r) in HOUSING.items()}
    per_cap_area = np.exp(rng.normal(np.log(9) + 1.2 * welfare, 0.35))
    luas = np.round(per_cap_area * sizes * 2) / 2
    luas = np.clip(luas, 9, 900)

    # Family card (NO_KK) numbers: kecamatan + issue date + serial.
    kec6 = areas.frame["kec6"].to_numpy()
    issue = np.datetime64("2005-01-01") + rng.integers(0, 7300, n_hh).astype("timedelta64[D]")
    kk_prefix = kec6[kel0] * 1_000_000 + _date_digits(issue)
    kk = kk_prefix * 10_000 + _group_serial(kk_prefix)

    # Enumeration date: within 18 months before the first snapshot, or when (re)registered.
    first_day = snapshots[0].astype("datetime64[D]")
    enum_date = first_day - rng.integers(1, 540, n_hh).astype("timedelta64[D]")
    for s in range(1, n_snap):
        start = snapshots[s - 1].astype("datetime64[D]")
        span = int((snapshots[s].astype("datetime64[D]") - start).astype(np.int64))
        new = appear == s
        enum_date[new] = start + rng.integers(0, max(span, 1), int(new.sum())).astype(
            "timedelta64[D]"
        )
    move_date = np.array(
        [snapshots[min(m, n_snap - 1)].astype("datetime64[D]") for m in range(n_snap + 1)]
    )[move] - rng.integers(1, 60, n_hh).astype("timedelta64[D]")

    # NIK: kecamatan of the household when the person was registered + birth date + serial.
    kel_at_birth = np.where(born >= move[hid], kel1[hid], kel0[hid])
    nik_prefix = kec6[kel_at_birth] * 1_000_000 + _date_digits(birth, sex == 2)
    serial = _group_serial(nik_prefix)
    if serial.max() >= 9000:
        raise ValueError("too many persons per kecamatan and birth date for unique NIKs")
    nik = nik_prefix * 10_000 + serial

    hh = {
        "appear": appear,
        "leave": leave,
        "move": move,
        "kel0": kel0,
        "kel1": kel1,
        "size0": sizes,
        "kk": kk,
        "expenditure": expenditure,
        "desil": desil,
        "sel_decile": sel_decile,
        "welfare": welfare,
        "luas": luas,
        "enum_date": enum_date,
        "move_date": move_date,
        "street": rng.integers(0, 1 << 30, n_hh),
        "house_no": rng.integers(1, 160, n_hh),
        "addr_kind": rng.integers(0, 1000, n_hh),
        "rt": rng.integers(1, 16, n_hh),
        "rw": rng.integers(1, 12, n_hh),
        "channel": rng.choice(len(CHANNELS), size=n_hh, p=CHANNEL_PROBS),
        "uninsured": rng.random(n_hh) < np.where((welfare > 0.2) & (welfare < 0.7), 0.16, 0.07),
        "u_program": rng.random((n_hh, 8)),
        **{f"house_{k}": v for k, v in housing.items()},
    }
    persons = {
        "hid": hid.astype(np.int64),
        "rel": rel,
        "sex": sex,
        "birth": birth,
        "born": born,
        "died": died,
        "nik": nik,
        "first": rng.integers(0, 1 << 30, n_p),
        "second": rng.integers(0, 1 << 30, n_p),
        "u_edu": rng.random(n_p),
        "u_school": rng.random(n_p),
        "u_work": rng.random(n_p),
        "u_disab": rng.random(n_p),
        "u_jkn": rng.random(n_p),
        "u_title": rng.random(n_p),
    }
    return Population(snapshots=snapshots, hh=hh, persons=persons, offset=offset)


def present_households(pop: Population, s: int) -> np.ndarray:
    """Indices of the households present at snapshot ``s``."""
    return np.flatnonzero((pop.hh["appear"] <= s) & (pop.hh["leave"] > s))


def present_persons(pop: Population, s: int) -> np.ndarray:
    """Indices of the persons present at snapshot ``s`` (alive, in a present household)."""
    p = pop.persons
    hid = p["hid"]
    alive = (p["born"] <= s) & (p["died"] > s)
    return np.flatnonzero(alive & (pop.hh["appear"][hid] <= s) & (pop.hh["leave"][hid] > s))


def kelurahan_at(pop: Population, s: int, hids: np.ndarray) -> np.ndarray:
    """Area index of households ``hids`` at snapshot ``s``."""
    moved = pop.hh["move"][hids] <= s
    return np.where(moved, pop.hh["kel1"][hids], pop.hh["kel0"][hids])


def person_attributes(pop: Population, s: int, pids: np.ndarray) -> dict[str, np.ndarray]:
    """Age, education, school attendance, work and disability of persons at snapshot ``s``."""
    p = pop.persons
    ref = month_end(pop.snapshots[s])
    age = age_at(p["birth"][pids], ref)
    welfare = pop.hh["welfare"][p["hid"][pids]]
    u_edu, u_school = p["u_edu"][pids], p["u_school"][pids]

    adult_poor = np.array([0.04, 0.13, 0.38, 0.22, 0.20, 0.03])
    adult_rich = np.array([0.01, 0.02, 0.12, 0.18, 0.45, 0.22])
    elder_poor = np.array([0.15, 0.30, 0.35, 0.10, 0.08, 0.02])
    elder_rich = np.array([0.04, 0.08, 0.30, 0.22, 0.26, 0.10])
    elder = (age >= 60)[:, None]
    w = welfare[:, None]
    cum = np.where(
        elder,
        (1 - w) * np.cumsum(elder_poor) + w * np.cumsum(elder_rich),
        (1 - w) * np.cumsum(adult_poor) + w * np.cumsum(adult_rich),
    )
    adult_edu = (u_edu[:, None] > cum).sum(axis=1).clip(0, 5)

    attend_p = np.select(
        [age < 5, age < 7, age < 13, age < 16, age < 19, age < 24],
        [
            0.0,
            0.45,
            0.93 + 0.06 * welfare,
            0.86 + 0.12 * welfare,
            0.55 + 0.35 * welfare,
            0.05 + 0.4 * welfare,
        ],
        default=0.0,
    )
    attending = u_school < attend_p
    edu = np.select(
        [age < 7, age < 13, age < 16, age < 19],
        [np.zeros_like(age), np.ones_like(age), np.full_like(age, 2), np.full_like(age, 3)],
        default=adult_edu,
    )
    # Children who left school early stop at their level; adults keep their attainment.
    edu = np.where(
        (age >= 7) & (age < 19) & ~attending & (u_edu < 0.5), np.maximum(edu - 1, 1), edu
    )
    edu = np.where((age >= 19) & (age < 24) & attending, np.maximum(edu, 4), edu)
    school = np.where(attending, 1, np.where((edu == 0) & (age >= 7), 0, 2))
    school = np.where(age < 5, 0, school)
    school = np.where((age >= 5) & (age < 7) & ~attending, 0, school)
    edu = np.where(school == 0, 0, edu)

    male = p["sex"][pids] == 1
    work_p = np.select(
        [age < 15, age < 65],
        [np.zeros(len(age)), np.where(male, 0.82, 0.5) - 0.08 * (1 - welfare) * attending],
        default=0.28,
    )
    work = (p["u_work"][pids] < work_p) & ~((age < 24) & attending)
    disab = p["u_disab"][pids] < np.where(age >= 65, 0.10, 0.02)
    return {
        "age": age,
        "edu": edu.astype(np.int8),
        "school": school.astype(np.int8),
        "work": work.astype(np.int8),
        "disab": disab.astype(np.int8),
    }


@dataclass
class Outsiders:
    """People who are not in the registry (unmatched recipients, stale member rows).

    Their global person ids follow the registry persons: ``first_pid + k``.
    """

    first_pid: int
    nik: np.ndarray
    kk: np.ndarray
    sex: np.ndarray
    birth: np.ndarray
    kel: np.ndarray
    first: np.ndarray
    second: np.ndarray
    used: int = 0

    def take(self, n: int) -> np.ndarray:
        """Global person ids of ``n`` outsiders not handed out yet."""
        if self.used + n > len(self.nik):
            raise ValueError("outsider pool exhausted")
        ids = np.arange(self.used, self.used + n) + self.first_pid
        self.used += n
        return ids


def build_outsiders(
    rng: np.random.Generator, areas: Areas, n: int, first_pid: int, ref: np.datetime64
) -> Outsiders:
    """``n`` valid synthetic NIKs/family cards with serials 9000+ (never a registry person)."""
    kel = rng.choice(areas.n, size=n, p=areas.frame["weight"].to_numpy())
    kec6 = areas.frame["kec6"].to_numpy()[kel]
    sex = np.where(rng.random(n) < 0.6, 2, 1).astype(np.int8)
    age_days = (18 * 365.25 + rng.random(n) * 50 * 365.25).astype(np.int64)
    birth = ref.astype("datetime64[D]") - age_days.astype("timedelta64[D]")
    prefix = kec6 * 1_000_000 + _date_digits(birth, sex == 2)
    serial = _group_serial(prefix) + 8999
    issue = np.datetime64("2010-01-01") + rng.integers(0, 5000, n).astype("timedelta64[D]")
    kk_prefix = kec6 * 1_000_000 + _date_digits(issue)
    kk_serial = _group_serial(kk_prefix) + 8999
    if max(serial.max(initial=0), kk_serial.max(initial=0)) > 9999:
        raise ValueError("too many outsiders per kecamatan and date")
    return Outsiders(
        first_pid=first_pid,
        nik=prefix * 10_000 + serial,
        kk=kk_prefix * 10_000 + kk_serial,
        sex=sex,
        birth=birth,
        kel=kel,
        first=rng.integers(0, 1 << 30, n),
        second=rng.integers(0, 1 << 30, n),
    )
