"""Synthetic names and street names built from syllable lists (no real people, no real streets).

Pools are small (a few thousand entries) and built once per seed; people index into them with
numpy integer arrays, so no per-person Python work is needed. A few pool entries carry characters
where Windows-1252 and Latin-1 differ (a right single quote, as in ``Ma’ruf``) or accented letters
(``Désy``), so encodings are exercised.
"""

from __future__ import annotations

import numpy as np

_ONSETS = (
    "su",
    "sri",
    "wa",
    "har",
    "bu",
    "dar",
    "ri",
    "yu",
    "na",
    "ti",
    "sa",
    "pur",
    "rah",
    "ju",
    "mar",
    "si",
    "ra",
    "de",
    "wi",
    "ku",
    "pra",
    "ba",
    "gu",
    "la",
    "mu",
    "nur",
    "ro",
    "ta",
    "e",
    "a",
    "i",
    "in",
    "an",
    "ha",
    "ja",
    "ka",
    "fa",
    "za",
    "ya",
    "ke",
    "se",
    "te",
    "bam",
)
_MIDDLES = (
    "ti",
    "ha",
    "ri",
    "to",
    "mi",
    "no",
    "ya",
    "wan",
    "di",
    "ma",
    "ra",
    "sa",
    "ka",
    "li",
    "ni",
    "rya",
    "lis",
    "yan",
    "dar",
    "man",
    "sri",
    "nar",
    "ga",
    "ba",
    "",
    "",
    "",
)
_MALE_ENDINGS = ("to", "no", "man", "di", "yo", "an", "ri", "so", "di", "ron", "din", "fi", "har")
_FEMALE_ENDINGS = ("ti", "ni", "wati", "sih", "yah", "na", "ah", "sari", "yati", "nah", "mi", "ni")
_STREET_WORDS = (
    "Melati",
    "Kenanga",
    "Mawar",
    "Anggrek",
    "Cempaka",
    "Flamboyan",
    "Dahlia",
    "Kamboja",
    "Teratai",
    "Seroja",
    "Nusa Indah",
    "Bougenville",
    "Sawo",
    "Mangga",
    "Jambu",
    "Rambutan",
    "Kelapa",
    "Pinang",
    "Belimbing",
    "Nangka",
    "Durian",
    "Salak",
    "Manggis",
    "Duku",
)
_STREET_ONSETS = ("Ka", "Su", "Ma", "Pe", "Ba", "Ti", "Ro", "Se", "Ja", "Lo", "Ke", "Wi")
_STREET_ENDINGS = ("rangan", "wangi", "sari", "rejo", "kulon", "wetan", "lor", "kidul", "mulyo")
#: Words that must never come out of the syllable machine (names of well-known people).
_BLOCKED = frozenset({"suharto", "sukarno", "soeharto", "soekarno", "habibie", "jokowi"})


def _syllable_names(rng: np.random.Generator, endings: tuple[str, ...], size: int) -> list[str]:
    """``size`` distinct capitalised names made of onset + middle + ending syllables."""
    names: list[str] = []
    seen: set[str] = set()
    onsets = np.array(_ONSETS)
    middles = np.array(_MIDDLES)
    ends = np.array(endings)
    while len(names) < size:
        batch = size * 2
        candidates = np.char.add(
            np.char.add(
                onsets[rng.integers(0, len(onsets), batch)],
                middles[rng.integers(0, len(middles), batch)],
            ),
            ends[rng.integers(0, len(ends), batch)],
        )
        for word in candidates.tolist():
            if len(word) < 4 or word in seen or word in _BLOCKED:
                continue
            seen.add(word)
            names.append(word.capitalize())
            if len(names) == size:
                break
    return names


def _decorate(rng: np.random.Generator, names: list[str]) -> list[str]:
    """Give about 1.5% of a pool an accent (é) or a right single quote (Ma’ruf)."""
    out = list(names)
    picks = rng.choice(len(out), size=max(2, len(out) // 70), replace=False)
    for k, index in enumerate(sorted(picks.tolist())):
        word = out[index]
        if k % 2 == 0 and "e" in word:
            out[index] = word.replace("e", "é", 1)
        else:
            out[index] = word[:2] + "\u2019" + word[2:]
    return out


def name_pools(rng: np.random.Generator, size: int = 1500) -> dict[str, list[str]]:
    """Pools of male first names, female first names and second names."""
    return {
        "male": _decorate(rng, _syllable_names(rng, _MALE_ENDINGS, size)),
        "female": _decorate(rng, _syllable_names(rng, _FEMALE_ENDINGS, size)),
        "second": _syllable_names(rng, _MALE_ENDINGS + _FEMALE_ENDINGS, size),
    }


def street_pool(rng: np.random.Generator, size: int = 400) -> list[str]:
    """Synthetic street names: flower/fruit words and syllable compounds."""
    onsets = np.array(_STREET_ONSETS)
    ends = np.array(_STREET_ENDINGS)
    compounds = np.char.add(
        onsets[rng.integers(0, len(onsets), size)], ends[rng.integers(0, len(ends), size)]
    ).tolist()
    numbered = [f"{w} {k}" for w in _STREET_WORDS for k in ("Raya", "I", "II", "III")]
    return sorted(set(compounds) | set(_STREET_WORDS) | set(numbered))


def official_names() -> list[str]:
    """Synthetic officials for signature lines."""
    return ["SRIWATI, S.Sos.", "Ir. DARMONO, M.M.", "HARYATI, S.E., M.Si.", "BUDIYANTO, S.H."]
