"""Program recipients and records: disbursements, PBI-JK membership, local recipient lists.

Recipients are drawn from an older, noisier welfare ranking than the registry's DESIL (the lists
were built from a previous registry), so targeting has realistic exclusion and inclusion errors.
Amounts follow the catalog notes in ``tkpk/reference/programs.csv``. A few payments fail (some are
retried the next month), a few recipients are not in the registry at all, and a few can only be
matched by family card (their NIK is not in the registry, their NO_KK is).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tkpk.synth.population import (
    CHANNELS,
    Outsiders,
    Population,
    kelurahan_at,
    person_attributes,
    present_households,
    present_persons,
)

# Probability of receiving, by the programs' own (older) welfare decile 1..10.
P_PKH = np.array([0.94, 0.88, 0.78, 0.62, 0.18, 0.09, 0.04, 0.02, 0.01, 0.005])
P_BPNT = np.array([0.90, 0.82, 0.70, 0.52, 0.18, 0.09, 0.04, 0.02, 0.01, 0.005])
P_PIP = np.array([0.85, 0.75, 0.60, 0.45, 0.15, 0.08, 0.04, 0.02, 0.01, 0.005])
P_PBI = np.array([0.93, 0.88, 0.80, 0.68, 0.50, 0.22, 0.10, 0.05, 0.02, 0.01])
W_LOCAL = np.array([1.0, 0.85, 0.7, 0.5, 0.25, 0.15, 0.08, 0.05, 0.03, 0.02])

#: PKH annual benefit per family component (catalog note), at most four components a family.
PKH_EARLY_CHILD = 3_000_000
PKH_SD, PKH_SMP, PKH_SMA = 900_000, 1_500_000, 2_000_000
PKH_ELDERLY_DISABLED = 2_400_000
BPNT_QUARTER = 600_000
BLT_AMOUNT = 400_000  # Rp200,000 a month for two months, paid at once
PIP_BY_LEVEL = {"SD": 450_000, "SMP": 750_000, "SMA": 1_800_000}
FAILED_SHARE = 0.02
RETRY_SHARE = 0.6
UNMATCHED_SHARE = 0.015
KK_ONLY_SHARE = 0.012


@dataclass
class Batch:
    """The logical rows of one program file (before styling and defects)."""

    kind: str  # disbursements | pbi | local
    program: str  # catalog code
    label: str  # program part of the file name
    month: np.datetime64  # file period (first month; January for yearly lists)
    frame: dict[str, np.ndarray]
    channel: str | None = None
    stage: int | None = None
    suffix: str = ""
    funding: str | None = None
    retry: bool = False
    meta: dict = field(default_factory=dict)


def snapshot_for(pop: Population, month: np.datetime64) -> int:
    """Index of the latest snapshot at or before ``month`` (the first one if none)."""
    months = np.array([s.astype("datetime64[M]") for s in pop.snapshots])
    idx = int(np.searchsorted(months, month.astype("datetime64[M]"), side="right")) - 1
    return max(idx, 0)


def _first_per_group(groups: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Index (into the arrays) of the lowest-priority element of each group, groups ascending."""
    order = np.lexsort((priority, groups))
    g = groups[order]
    first = np.r_[True, g[1:] != g[:-1]]
    return order[first]


@dataclass
class ProgramContext:
    """Per-snapshot facts reused by every program."""

    pop: Population
    outsiders: Outsiders
    rng: np.random.Generator
    cache: dict = field(default_factory=dict)

    def snapshot(self, s: int) -> dict[str, np.ndarray]:
        """Present persons with attributes, pengurus per household, kelurahan per household."""
        if s in self.cache:
            return self.cache[s]
        pop = self.pop
        pp = present_persons(pop, s)
        attrs = person_attributes(pop, s, pp)
        hid_p = pop.persons["hid"][pp]
        rel = pop.persons["rel"][pp]
        sex = pop.persons["sex"][pp]
        priority = np.select(
            [(rel == 2) & (sex == 2), (rel == 1) & (sex == 2), rel == 1, rel == 2],
            [0, 1, 2, 3],
            default=9,
        )
        first = _first_per_group(hid_p, priority)
        n_hh = len(pop.hh["appear"])
        pengurus = np.full(n_hh, -1, dtype=np.int64)
        pengurus[hid_p[first]] = pp[first]
        head_first = _first_per_group(hid_p, np.where(rel == 1, 0, 9))
        head = np.full(n_hh, -1, dtype=np.int64)
        head[hid_p[head_first]] = pp[head_first]
        hh = present_households(pop, s)
        kel = np.full(n_hh, -1, dtype=np.int64)
        kel[hh] = kelurahan_at(pop, s, hh)
        info = {
            "pp": pp,
            "hid_p": hid_p,
            "pengurus": pengurus,
            "head": head,
            "hh": hh,
            "kel": kel,
            **attrs,
        }
        self.cache[s] = info
        return info


class Programs:
    """Builds every program batch for the months of the run."""

    def __init__(self, ctx: ProgramContext, months: list[np.datetime64]):
        self.ctx = ctx
        self.pop = ctx.pop
        self.rng = ctx.rng
        self.months = months
        hh = self.pop.hh
        n_hh = len(hh["appear"])
        sel = hh["sel_decile"] - 1
        self.pbi_hh = hh["u_program"][:, 6] < P_PBI[sel]
        self.pbi_apbd = self.pbi_hh & (hh["u_program"][:, 5] < 0.2)
        kk_only = np.flatnonzero(hh["u_program"][:, 7] < KK_ONLY_SHARE)
        self.kk_only_pid = np.full(n_hh, -1, dtype=np.int64)
        self.kk_only_pid[kk_only] = ctx.outsiders.take(len(kk_only))
        self.unmatched_pool: dict[str, np.ndarray] = {}

    # -- helpers ------------------------------------------------------------------------------

    def _unmatched(self, program: str, n: int) -> np.ndarray:
        """A persistent pool of unmatched recipients for ``program`` (grows when needed)."""
        pool = self.unmatched_pool.get(program, np.zeros(0, dtype=np.int64))
        if len(pool) < n:
            pool = np.r_[pool, self.ctx.outsiders.take(n - len(pool))]
            self.unmatched_pool[program] = pool
        return pool[:n]

    def _dates(self, month: np.datetime64, n: int, first: int = 2, last: int = 26) -> np.ndarray:
        """Random dates within ``month`` (days first..last)."""
        start = month.astype("datetime64[M]").astype("datetime64[D]")
        return start + self.rng.integers(first - 1, last, n).astype("timedelta64[D]")

    def _household_rows(self, s: int, hids: np.ndarray, program: str) -> dict[str, np.ndarray]:
        """pid (pengurus, or the KK-only outsider), kk and kelurahan of recipient households."""
        info = self.ctx.snapshot(s)
        pid = info["pengurus"][hids]
        kk_only = self.kk_only_pid[hids]
        pid = np.where(kk_only >= 0, kk_only, pid)
        return {"pid": pid, "hid": hids, "kk": self.pop.hh["kk"][hids], "kel": info["kel"][hids]}

    def _add_unmatched(self, rows: dict[str, np.ndarray], program: str) -> dict[str, np.ndarray]:
        """Append unmatched recipients (not in the registry) to household rows."""
        n = max(1, int(round(UNMATCHED_SHARE * len(rows["pid"]))))
        pids = self._unmatched(program, n)
        k = pids - self.ctx.outsiders.first_pid
        extra = {
            "pid": pids,
            "hid": np.full(n, -1, dtype=np.int64),
            "kk": self.ctx.outsiders.kk[k],
            "kel": self.ctx.outsiders.kel[k],
        }
        return {key: np.r_[rows[key], extra[key]] for key in rows}

    def _payment(
        self,
        program: str,
        label: str,
        month: np.datetime64,
        stage: int | None,
        rows: dict[str, np.ndarray],
        amount: np.ndarray,
        channel_of: np.ndarray,
        channels: tuple[str, ...],
    ) -> list[Batch]:
        """Split recipient rows into per-channel files, with failures and next-month retries."""
        n = len(rows["pid"])
        rng = self.rng
        u = rng.random(n)
        status = np.zeros(n, dtype=np.int8)
        failed = u < FAILED_SHARE
        status[failed] = np.select(
            [u[failed] < FAILED_SHARE * 0.5, u[failed] < FAILED_SHARE * 0.85], [1, 2], default=3
        )
        retried = failed & (rng.random(n) < RETRY_SHARE)
        dates = self._dates(month, n)
        order = rng.permutation(n)
        frame = {**rows, "amount": amount.astype(np.float64), "status": status, "date": dates}
        frame = {k: v[order] for k, v in frame.items()}
        channel_of, retried = channel_of[order], retried[order]
        next_month = month.astype("datetime64[M]") + 1
        batches = []
        for c, name in enumerate(channels):
            mask = channel_of == c
            if not mask.any():
                continue
            batches.append(
                Batch(
                    "disbursements",
                    program,
                    label,
                    month,
                    {k: v[mask] for k, v in frame.items()},
                    name,
                    stage,
                )
            )
            again = mask & retried
            if again.any() and next_month in self.months:
                retry = {k: v[again] for k, v in frame.items()}
                retry["status"] = np.zeros(int(again.sum()), dtype=np.int8)
                retry["date"] = self._dates(next_month, int(again.sum()))
                batches.append(
                    Batch(
                        "disbursements", program, label, next_month, retry, name, stage, retry=True
                    )
                )
        return batches

    # -- national programs ---------------------------------------------------------------------

    def stage_months(self) -> list[tuple[np.datetime64, int]]:
        """PKH/BPNT payment months (Feb, May, Aug, Nov) with their stage of the year."""
        out = []
        for m in self.months:
            month_no = int(m.astype(np.int64) % 12) + 1
            if month_no % 3 == 2:
                out.append((m, {2: 1, 5: 2, 8: 3, 11: 4}[month_no]))
        return out

    def pkh(self) -> list[Batch]:
        """PKH: four stages a year, benefit by family component (top four components)."""
        batches = []
        hh = self.pop.hh
        for month, stage in self.stage_months():
            s = snapshot_for(self.pop, month)
            info = self.ctx.snapshot(s)
            age, school, disab = info["age"], info["school"], info["disab"]
            value = np.select(
                [
                    age <= 6,
                    (school == 1) & (age >= 7) & (age <= 12),
                    (school == 1) & (age >= 13) & (age <= 15),
                    (school == 1) & (age >= 16) & (age <= 18),
                    (age >= 70) | (disab == 1),
                ],
                [PKH_EARLY_CHILD, PKH_SD, PKH_SMP, PKH_SMA, PKH_ELDERLY_DISABLED],
                default=0,
            )
            hid_p = info["hid_p"]
            order = np.lexsort((-value, hid_p))
            g = hid_p[order]
            starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
            rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
            keep = order[rank < 4]
            annual = np.bincount(hid_p[keep], weights=value[keep], minlength=len(hh["appear"]))
            cand = info["hh"]
            sel = hh["sel_decile"][cand] - 1
            chosen = cand[(annual[cand] > 0) & (hh["u_program"][cand, 0] < P_PKH[sel])]
            rows = self._add_unmatched(self._household_rows(s, chosen, "PKH"), "PKH")
            amount = np.r_[annual[chosen] / 4, np.full(len(rows["pid"]) - len(chosen), 750_000)]
            channel = np.r_[
                hh["channel"][chosen], self.rng.integers(0, 4, len(rows["pid"]) - len(chosen))
            ]
            batches += self._payment("PKH", "pkh", month, stage, rows, amount, channel, CHANNELS)
        return batches

    def bpnt(self) -> list[Batch]:
        """BPNT/Sembako: Rp600,000 per quarter (Rp200,000 a month) paid once a quarter."""
        batches = []
        hh = self.pop.hh
        for k, (month, stage) in enumerate(self.stage_months()):
            s = snapshot_for(self.pop, month)
            cand = self.ctx.snapshot(s)["hh"]
            sel = hh["sel_decile"][cand] - 1
            chosen = cand[hh["u_program"][cand, 1] < P_BPNT[sel]]
            rows = self._add_unmatched(self._household_rows(s, chosen, "BPNT"), "BPNT")
            n = len(rows["pid"])
            channel = np.r_[hh["channel"][chosen], self.rng.integers(0, 4, n - len(chosen))]
            label = "bpnt" if k % 2 == 0 else "sembako"
            batches += self._payment(
                "BPNT", label, month, stage, rows, np.full(n, BPNT_QUARTER), channel, CHANNELS
            )
        return batches

    def blt(self) -> list[Batch]:
        """One BLT episode (the first December of the run, else its second month), via Pos."""
        decembers = [m for m in self.months if int(m.astype(np.int64) % 12) == 11]
        month = decembers[0] if decembers else self.months[min(1, len(self.months) - 1)]
        s = snapshot_for(self.pop, month)
        hh = self.pop.hh
        cand = self.ctx.snapshot(s)["hh"]
        sel = hh["sel_decile"][cand] - 1
        chosen = cand[(hh["u_program"][cand, 1] < P_BPNT[sel]) & (self.rng.random(len(cand)) < 0.9)]
        rows = self._add_unmatched(self._household_rows(s, chosen, "BLT"), "BLT")
        n = len(rows["pid"])
        return self._payment(
            "BLT",
            "blt",
            month,
            None,
            rows,
            np.full(n, BLT_AMOUNT),
            np.zeros(n, dtype=np.int64),
            ("pos",),
        )

    def pip(self) -> list[Batch]:
        """PIP: per student by level, paid in April (tahap 1) and September (tahap 2)."""
        batches = []
        hh = self.pop.hh
        for month in self.months:
            month_no = int(month.astype(np.int64) % 12) + 1
            if month_no not in (4, 9):
                continue
            stage = 1 if month_no == 4 else 2
            s = snapshot_for(self.pop, month)
            info = self.ctx.snapshot(s)
            age, school, hid_p = info["age"], info["school"], info["hid_p"]
            sel = hh["sel_decile"][hid_p] - 1
            termin = (self.pop.persons["u_title"][info["pp"]] * 1000 % 2).astype(int) + 1
            student = (school == 1) & (age >= 6) & (age <= 18) & (termin == stage)
            student &= hh["u_program"][hid_p, 2] < P_PIP[sel]
            idx = np.flatnonzero(student)
            amount = np.select(
                [age[idx] <= 12, age[idx] <= 15],
                [PIP_BY_LEVEL["SD"], PIP_BY_LEVEL["SMP"]],
                PIP_BY_LEVEL["SMA"],
            )
            rows = {
                "pid": info["pp"][idx],
                "hid": hid_p[idx],
                "kk": hh["kk"][hid_p[idx]],
                "kel": info["kel"][hid_p[idx]],
            }
            rows = self._add_unmatched(rows, "PIP")
            extra = len(rows["pid"]) - len(idx)
            amount = np.r_[amount, np.full(extra, PIP_BY_LEVEL["SD"])]
            channel = np.r_[(age[idx] >= 16).astype(np.int64), np.zeros(extra, dtype=np.int64)]
            batches += self._payment(
                "PIP", "pip", month, stage, rows, amount, channel, ("bri", "bni")
            )
        return batches

    def pbi(self) -> list[Batch]:
        """PBI-JK membership, one file per month; a few members turn NONAKTIF."""
        batches = []
        persons = self.pop.persons
        n_p = len(persons["hid"])
        off_month = np.where(
            self.rng.random(n_p) < 0.03, self.rng.integers(0, max(len(self.months), 1), n_p), 10_000
        )
        extra_n = None
        for k, month in enumerate(self.months):
            s = snapshot_for(self.pop, month)
            info = self.ctx.snapshot(s)
            members = info["pp"][self.pbi_hh[info["hid_p"]]]
            hid = persons["hid"][members]
            if extra_n is None:
                extra_n = max(1, int(round(0.005 * len(members))))
            pids = np.r_[members, self._unmatched("PBI_JK", extra_n)]
            apbd = np.r_[self.pbi_apbd[hid], np.zeros(extra_n, dtype=bool)]
            active = np.r_[off_month[members] > k, np.ones(extra_n, dtype=bool)]
            order = np.argsort(np.r_[hid, np.full(extra_n, 1 << 40)], kind="stable")
            frame = {
                "pid": pids[order],
                "apbd": apbd[order].astype(np.int8),
                "active": active[order].astype(np.int8),
            }
            batches.append(Batch("pbi", "PBI_JK", "jk", month, frame))
        return batches

    # -- local lists ---------------------------------------------------------------------------

    def _local_rows(
        self, s: int, rate: float, eligible: np.ndarray, ok_area: np.ndarray, use_head: bool = True
    ) -> dict[str, np.ndarray]:
        """Recipient households drawn with weights by the programs' decile, plus outsiders."""
        hh = self.pop.hh
        info = self.ctx.snapshot(s)
        cand = info["hh"][eligible[info["hh"]] & ok_area[info["kel"][info["hh"]]]]
        w = W_LOCAL[hh["sel_decile"][cand] - 1]
        p = np.clip(rate * len(info["hh"]) * w / max(w.sum(), 1e-9), 0, 1)
        chosen = cand[self.rng.random(len(cand)) < p]
        if len(chosen) == 0 and len(cand):
            chosen = cand[:1]
        pid = info["head"][chosen] if use_head else info["pengurus"][chosen]
        n_out = max(1, int(round(0.02 * len(chosen))))
        outs = self.ctx.outsiders.take(n_out)
        k = outs - self.ctx.outsiders.first_pid
        out_kel = self.ctx.outsiders.kel[k]
        out_kel = np.where(ok_area[out_kel], out_kel, np.flatnonzero(ok_area)[0])
        rows = {
            "pid": np.r_[pid, outs],
            "hid": np.r_[chosen, np.full(n_out, -1, dtype=np.int64)],
            "kel": np.r_[info["kel"][chosen], out_kel],
        }
        addr_from = np.r_[chosen, self.rng.integers(0, len(hh["appear"]), n_out)]
        for key in ("street", "house_no", "addr_kind", "rt", "rw"):
            rows[key] = hh[key][addr_from]
        order = self.rng.permutation(len(rows["pid"]))
        return {k: v[order] for k, v in rows.items()}

    def local(self, ok_area: np.ndarray) -> list[Batch]:
        """Yearly local lists: modal usaha (APBD, CSR), pelatihan (DBHCHT), RTLH (APBD, DAK),
        zakat (BAZNAS)."""
        hh = self.pop.hh
        batches = []
        years = sorted(
            {int(m.astype("datetime64[Y]").astype(np.int64)) + 1970 for m in self.months}
        )
        for year in years:
            in_year = [
                m
                for m in self.months
                if int(m.astype("datetime64[Y]").astype(np.int64)) + 1970 == year
            ]
            month = in_year[len(in_year) // 2]
            s = snapshot_for(self.pop, month)
            info = self.ctx.snapshot(s)
            everyone = np.ones(len(hh["appear"]), dtype=bool)
            specs = [("ZAKAT", "zakat", "", "BAZNAS", 0.006, everyone)]
            if len(in_year) >= 3:
                working = np.zeros(len(hh["appear"]), dtype=bool)
                working[info["hid_p"][(info["age"] >= 18) & (info["age"] <= 55)]] = True
                bad_house = (
                    np.isin(hh["house_lantai"], (5, 6))
                    | np.isin(hh["house_dinding"], (4, 5, 6))
                    | (hh["luas"] / hh["size0"] < 8)
                )
                specs = [
                    ("MODAL_USAHA", "modal_usaha", "", "APBD", 0.004, working),
                    ("MODAL_USAHA", "modal_usaha", "csr", "CSR", 0.0015, working),
                    ("PELATIHAN", "pelatihan", "", "DBHCHT", 0.005, working),
                    ("RTLH", "rtlh", "", "APBD", 0.0015, bad_house),
                    ("RTLH", "rtlh", "dak", "DAK", 0.001, bad_house),
                    *specs,
                ]
            for program, label, suffix, funding, rate, eligible in specs:
                rows = self._local_rows(s, rate, eligible, ok_area, use_head=program != "PELATIHAN")
                n = len(rows["pid"])
                if program == "PELATIHAN":
                    # The trainee is a working-age member of the household.
                    young = info["pp"][(info["age"] >= 18) & (info["age"] <= 45)]
                    young_first = np.full(len(hh["appear"]), -1, dtype=np.int64)
                    young_first[self.pop.persons["hid"][young[::-1]]] = young[::-1]
                    registry = rows["hid"] >= 0
                    alt = young_first[np.where(registry, rows["hid"], 0)]
                    rows["pid"] = np.where(registry & (alt >= 0), alt, rows["pid"])
                    amount = np.full(n, np.nan)
                elif program == "MODAL_USAHA":
                    amount = (self.rng.integers(2, 7, n) * 500_000).astype(np.float64)
                    if funding == "CSR":
                        amount[:] = 2_000_000
                elif program == "RTLH":
                    amount = np.full(n, 20_000_000.0 if funding == "DAK" else 15_000_000.0)
                else:
                    amount = np.where(self.rng.random(n) < 0.6, 1_000_000.0, 3_000_000.0)
                months = in_year[len(in_year) // 3 :] or in_year
                pick = np.array(months)[self.rng.integers(0, len(months), 2)]
                first_two = np.where(self.rng.random(n) < 0.6, 0, 1)
                dates = np.array([self._dates(m, 1, 5, 25)[0] for m in pick])[first_two]
                rows.update(amount=amount, date=dates)
                batches.append(
                    Batch(
                        "local",
                        program,
                        label,
                        np.datetime64(f"{year}-01"),
                        rows,
                        suffix=suffix,
                        funding=funding,
                    )
                )
        return batches
