"""Where the poor live: a tile map of the kelurahan grouped by kecamatan, or a real choropleth.

The tile map needs no boundary file: every kelurahan is one square tile, the tiles of a kecamatan
form a block, and the blocks are laid out by the compass word in the kecamatan names when they all
have one (Pekalongan Utara on top, Barat left, Timur right, Selatan below), else in a row. Positions
are computed from the reference table, so every kelurahan appears exactly once.

With a boundary GeoJSON (``Polygon``/``MultiPolygon`` features carrying a kelurahan code or name
in their properties) the same figure is drawn as a choropleth with matplotlib patches.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

#: Block position (column, row) of a kecamatan by the compass word in its name.
COMPASS = {"utara": (0.5, 0.0), "barat": (0.0, 1.0), "timur": (1.0, 1.0), "selatan": (0.5, 2.0)}
COMPASS_WITH_CENTRE = {
    "utara": (1.0, 0.0),
    "barat": (0.0, 1.0),
    "tengah": (1.0, 1.0),
    "timur": (2.0, 1.0),
    "selatan": (1.0, 2.0),
}
BLOCK_GAP = 1.0


@dataclass(frozen=True)
class Tile:
    """One kelurahan's tile: its top-left corner (x right, y down) in tile units."""

    code: str
    kecamatan_code: str
    x: float
    y: float


@dataclass(frozen=True)
class Block:
    """The bounding box of one kecamatan's tiles."""

    kecamatan_code: str
    x: float
    y: float
    width: int
    height: int


def _compass_word(name: str) -> str | None:
    """The compass word of a kecamatan name (``Pekalongan Utara`` -> ``utara``), if any."""
    words = set(re.findall(r"[a-z]+", name.lower()))
    found = [w for w in COMPASS_WITH_CENTRE if w in words]
    return found[0] if len(found) == 1 else None


def _block_origins(
    kecamatan: pd.DataFrame, width: int, height: int
) -> dict[str, tuple[float, float]]:
    """Block origin (tile units) per kecamatan code: compass layout when every name has its own
    compass word, else rows of blocks in code order."""
    words = {row.code: _compass_word(row.name) for row in kecamatan.itertuples(index=False)}
    distinct = set(words.values())
    if None not in distinct and len(distinct) == len(words):
        grid = COMPASS_WITH_CENTRE if "tengah" in distinct else COMPASS
        return {
            code: (grid[word][0] * (width + BLOCK_GAP), grid[word][1] * (height + BLOCK_GAP))
            for code, word in words.items()
        }
    per_row = max(1, math.ceil(math.sqrt(len(words))))
    return {
        code: ((i % per_row) * (width + BLOCK_GAP), (i // per_row) * (height + BLOCK_GAP))
        for i, code in enumerate(sorted(words))
    }


def tile_layout(areas: pd.DataFrame) -> tuple[list[Tile], list[Block]]:
    """Tiles and kecamatan blocks from a reference area table (``code``, ``level``, ``name``,
    ``kecamatan_code``): each kecamatan's kelurahan fill a near-square block row by row in code
    order; every kelurahan gets exactly one tile."""
    kelurahan = areas[areas["level"] == "kelurahan"].sort_values("code")
    kecamatan_codes = sorted(kelurahan["kecamatan_code"].unique())
    kecamatan = areas[(areas["level"] == "kecamatan") & areas["code"].isin(kecamatan_codes)]
    missing = set(kecamatan_codes) - set(kecamatan["code"])
    if missing:  # a kecamatan without its own row: name it by its code
        extra = pd.DataFrame({"code": sorted(missing), "name": sorted(missing)})
        kecamatan = pd.concat([kecamatan[["code", "name"]], extra], ignore_index=True)
    members = {
        code: kelurahan[kelurahan["kecamatan_code"] == code]["code"].tolist()
        for code in kecamatan_codes
    }
    # Blocks a little wider than tall: they sit on a landscape page.
    columns = {code: max(1, math.ceil(math.sqrt(len(m) * 1.6))) for code, m in members.items()}
    rows = {code: math.ceil(len(m) / columns[code]) for code, m in members.items()}
    width, height = max(columns.values(), default=1), max(rows.values(), default=1)
    origins = _block_origins(kecamatan.sort_values("code"), width, height)
    tiles, blocks = [], []
    for code in kecamatan_codes:
        x0, y0 = origins[code]
        # Centre a narrower or shorter block inside its cell.
        x0 += (width - columns[code]) / 2
        y0 += (height - rows[code]) / 2
        blocks.append(Block(code, x0, y0, columns[code], rows[code]))
        for i, kelurahan_code in enumerate(members[code]):
            tiles.append(
                Tile(kelurahan_code, code, x0 + i % columns[code], y0 + i // columns[code])
            )
    return tiles, blocks


def _text_colour(rgba: tuple[float, ...]) -> str:
    """Black or white, whichever reads better on ``rgba``."""
    red, green, blue = rgba[:3]
    return "#111111" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.55 else "white"


def draw_tiles(
    ax: Axes,
    tiles: list[Tile],
    blocks: list[Block],
    values: dict[str, float],
    labels: dict[str, str],
    block_labels: dict[str, str],
    cmap,  # noqa: ANN001  (a matplotlib Colormap)
    norm,  # noqa: ANN001  (a matplotlib Normalize)
    missing_colour: str,
) -> dict[str, Rectangle]:
    """Draw one square per tile coloured by ``values`` (code -> number, NaN = missing) with its
    label, and a caption over each kecamatan block. Returns the patches by kelurahan code."""
    xs = [t.x for t in tiles] or [0]
    ys = [t.y for t in tiles] or [0]
    ax.set_xlim(min(xs) - 0.2, max(xs) + 1.2)
    ax.set_ylim(-max(ys) - 1.2, -min(ys) + 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    tile_points = _unit_points(ax)
    patches = {}
    for tile in tiles:
        value = values.get(tile.code, np.nan)
        colour = missing_colour if value is None or np.isnan(value) else cmap(norm(value))
        patch = Rectangle(
            (tile.x + 0.04, -tile.y - 0.96),
            0.92,
            0.92,
            facecolor=colour,
            edgecolor="white",
            linewidth=1.5,
        )
        patch.set_gid(tile.code)
        ax.add_patch(patch)
        patches[tile.code] = patch
        text_colour = "#111111" if isinstance(colour, str) else _text_colour(colour)
        label = labels.get(tile.code, tile.code)
        ax.text(
            tile.x + 0.5,
            -tile.y - 0.5,
            label,
            ha="center",
            va="center",
            fontsize=_fit_font(label, 0.88 * tile_points),
            color=text_colour,
            linespacing=1.15,
        )
    for block in blocks:
        ax.text(
            block.x + block.width / 2,
            -block.y + 0.12,
            block_labels.get(block.kecamatan_code, block.kecamatan_code),
            ha="center",
            va="bottom",
            fontsize=10,
            fontweight="bold",
        )
    return patches


def _unit_points(ax: Axes) -> float:
    """The size in points of one data unit on an equal-aspect axes."""
    ax.apply_aspect()
    (x0, _), (x1, _) = ax.transData.transform([(0, 0), (1, 0)])
    return abs(x1 - x0) * 72 / ax.figure.dpi


def _fit_font(label: str, width_points: float, largest: float = 7.5) -> float:
    """A font size at which the longest line of ``label`` fits ``width_points`` (DejaVu Sans
    averages about 0.6 em per character), never above ``largest`` nor below 4.5 points."""
    longest = max((len(line) for line in label.split("\n")), default=1)
    return max(4.5, min(largest, width_points / (0.6 * longest)))


# -- choropleth ---------------------------------------------------------------------------------


def _key(text: str) -> str:
    """Match key of a name or code: upper-case letters and digits only."""
    key = re.sub(r"[^A-Z0-9]", "", str(text).upper())
    return re.sub(r"^(KELURAHAN|KEL|DESA)", "", key) if not key.isdigit() else key


def _area_keys(areas: pd.DataFrame, names: dict[str, str]) -> dict[str, str]:
    """Key -> kelurahan code from codes (dotted or plain), names, aliases and the pack's names."""
    keys: dict[str, str] = {}
    kelurahan = areas[areas["level"] == "kelurahan"]
    for row in kelurahan.itertuples(index=False):
        keys[_key(row.code)] = row.code
        for alias in [row.name, *str(row.aliases or "").split("|")]:
            if alias:
                keys.setdefault(_key(alias), row.code)
    for code, name in names.items():
        keys.setdefault(_key(name), code)
    return keys


def match_feature(properties: dict, keys: dict[str, str]) -> str | None:
    """The kelurahan code a GeoJSON feature's properties name (a code first, then a name)."""
    values = [str(v) for v in properties.values() if isinstance(v, str | int)]
    for value in values:  # codes first: "33.75.01.1002" or "3375011002"
        if any(ch.isdigit() for ch in value) and _key(value) in keys:
            return keys[_key(value)]
    for value in values:
        if _key(value) in keys:
            return keys[_key(value)]
    return None


def _rings_path(polygons: list[list[list[list[float]]]]) -> MplPath:
    """One compound path for a (multi)polygon: exterior rings and holes."""
    vertices, codes = [], []
    for polygon in polygons:
        for ring in polygon:
            points = [(float(p[0]), float(p[1])) for p in ring]
            if len(points) < 3:
                continue
            vertices.extend(points + [points[0]])
            codes.extend(
                [MplPath.MOVETO] + [MplPath.LINETO] * (len(points) - 1) + [MplPath.CLOSEPOLY]
            )
    return MplPath(vertices, codes)


@dataclass(frozen=True)
class Boundaries:
    """Kelurahan outlines from a GeoJSON: code -> compound path (``None``: features that match
    no kelurahan, drawn grey), and how many features matched nothing."""

    paths: dict
    unmatched_features: int


def load_boundaries(path: Path, areas: pd.DataFrame, names: dict[str, str]) -> Boundaries:
    """Read a boundary GeoJSON (Polygon / MultiPolygon features); each feature is matched to a
    kelurahan by a code or a name among its properties."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"boundary file {path}: cannot read GeoJSON ({error})") from error
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise ValueError(f"boundary file {path}: not a GeoJSON FeatureCollection")
    keys = _area_keys(areas, names)
    paths: dict[str | None, list[MplPath]] = {}
    for feature in features:
        geometry = feature.get("geometry") or {}
        kind, coordinates = geometry.get("type"), geometry.get("coordinates")
        if kind == "Polygon":
            polygons = [coordinates]
        elif kind == "MultiPolygon":
            polygons = coordinates
        else:
            continue
        code = match_feature(feature.get("properties") or {}, keys)
        paths.setdefault(code, []).append(_rings_path(polygons))
    if not any(code for code in paths):
        raise ValueError(f"boundary file {path}: no feature names a kelurahan of the region")
    return Boundaries(
        {code: MplPath.make_compound_path(*items) for code, items in paths.items()},
        len(paths.get(None, [])),
    )


def _label_point(path: MplPath) -> tuple[float, float]:
    """A label position: the centre of the largest ring's vertices (bounding box centre)."""
    best, best_area = None, -1.0
    for polygon in path.to_polygons():
        xs, ys = polygon[:, 0], polygon[:, 1]
        area = abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))) / 2
        if area > best_area:
            best, best_area = polygon, area
    if best is None:
        return 0.0, 0.0
    return float(best[:, 0].mean()), float(best[:, 1].mean())


def draw_choropleth(
    ax: Axes,
    paths: dict,
    values: dict[str, float],
    labels: dict[str, str],
    cmap,  # noqa: ANN001
    norm,  # noqa: ANN001
    missing_colour: str,
) -> dict[str, PathPatch]:
    """Draw each kelurahan's boundary coloured by its value, labelled at its centre."""
    patches = {}
    for code, path in paths.items():
        value = values.get(code, np.nan) if code else np.nan
        colour = missing_colour if np.isnan(value) else cmap(norm(value))
        patch = PathPatch(path, facecolor=colour, edgecolor="white", linewidth=0.8)
        ax.add_patch(patch)
        if code:
            patch.set_gid(code)
            patches[code] = patch
            x, y = _label_point(path)
            text_colour = "#111111" if isinstance(colour, str) else _text_colour(colour)
            ax.text(
                x,
                y,
                labels.get(code, code),
                ha="center",
                va="center",
                fontsize=6,
                color=text_colour,
            )
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.axis("off")
    return patches
