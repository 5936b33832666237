"""GeoJSON and KML in, GeoJSON out. Bad coordinates are reported per feature, never a crash."""

from __future__ import annotations

import dataclasses
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
MAX_FILE_BYTES = 200 * 1024 * 1024


class ExchangeError(Exception):
    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en

    def message(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclasses.dataclass
class Imported:
    name: str
    features: list[dict]  # GeoJSON features with valid WGS-84 geometry
    problems: list[tuple[str, str]]  # (zh, en), one per skipped feature (first 50)
    skipped: int = 0


def _valid_position(p: Any) -> bool:
    return (isinstance(p, (list, tuple)) and len(p) >= 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in p[:2])
            and -180 <= p[0] <= 180 and -90 <= p[1] <= 90)


def _check(kind: str, coords: Any) -> bool:
    if kind == "Point":
        return _valid_position(coords)
    if kind in ("MultiPoint", "LineString"):
        return isinstance(coords, list) and len(coords) >= (1 if kind == "MultiPoint" else 2) \
            and all(_valid_position(p) for p in coords)
    if kind == "MultiLineString":
        return isinstance(coords, list) and bool(coords) and all(_check("LineString", c) for c in coords)
    if kind == "Polygon":
        return isinstance(coords, list) and bool(coords) and all(
            isinstance(r, list) and len(r) >= 4 and all(_valid_position(p) for p in r) for r in coords)
    if kind == "MultiPolygon":
        return isinstance(coords, list) and bool(coords) and all(_check("Polygon", c) for c in coords)
    return False


def _flatten(geometry: dict) -> Iterable[dict]:
    if geometry.get("type") == "GeometryCollection":
        for g in geometry.get("geometries") or []:
            if isinstance(g, dict):
                yield from _flatten(g)
    else:
        yield geometry


def validate_features(raw: Iterable[Any], name: str) -> Imported:
    good, problems, skipped = [], [], 0
    for i, feat in enumerate(raw, 1):
        ok = isinstance(feat, dict) and isinstance(feat.get("geometry"), dict)
        geoms = list(_flatten(feat["geometry"])) if ok else []
        ok = ok and bool(geoms) and all(g.get("type") in GEOMETRY_TYPES and _check(g["type"], g.get("coordinates"))
                                        for g in geoms)
        if ok:
            props = feat.get("properties") if isinstance(feat.get("properties"), dict) else {}
            for g in geoms:
                good.append({"type": "Feature", "geometry": {"type": g["type"], "coordinates": g["coordinates"]},
                             "properties": props, **({"id": feat["id"]} if "id" in feat else {})})
        else:
            skipped += 1
            if len(problems) < 50:
                problems.append((f"第 {i} 个要素的几何或坐标无效（经度须在 −180～180，纬度须在 −90～90），已跳过。",
                                 f"Feature {i}: invalid geometry or coordinates (longitude must be −180…180, "
                                 f"latitude −90…90); skipped."))
    return Imported(name, good, problems, skipped)


def load_geojson(path: Path | str) -> Imported:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ExchangeError("文件过大（超过 200 MB）。", "The file is too large (over 200 MB).")
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as e:
        raise ExchangeError(f"无法读取 {path.name}：{e}", f"Cannot read {path.name}: {e}") from e
    except json.JSONDecodeError as e:
        raise ExchangeError(f"{path.name} 不是有效的 GeoJSON（第 {e.lineno} 行：{e.msg}）。",
                            f"{path.name} is not valid GeoJSON (line {e.lineno}: {e.msg}).") from e
    if not isinstance(doc, dict):
        raise ExchangeError(f"{path.name} 不是 GeoJSON 对象。", f"{path.name} is not a GeoJSON object.")
    if doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        raw = doc["features"]
    elif doc.get("type") == "Feature":
        raw = [doc]
    elif doc.get("type") in (*GEOMETRY_TYPES, "GeometryCollection"):
        raw = [{"type": "Feature", "geometry": doc, "properties": {}}]
    else:
        raise ExchangeError(f"{path.name} 不是 GeoJSON（缺少 FeatureCollection/Feature）。",
                            f"{path.name} is not GeoJSON (no FeatureCollection or Feature).")
    result = validate_features(raw, doc.get("name") or path.stem)
    if not result.features:
        raise ExchangeError(f"{path.name} 中没有可用的要素（{result.skipped} 个无效）。",
                            f"{path.name} holds no usable feature ({result.skipped} invalid).")
    return result


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kml_coords(text: str | None) -> list[list[float]]:
    out = []
    for tup in (text or "").split():
        parts = tup.split(",")
        try:
            out.append([float(parts[0]), float(parts[1])])
        except (ValueError, IndexError):
            out.append([float("nan"), float("nan")])  # fails validation below, with a message
    return out


def _kml_geometries(elem: ET.Element) -> list[dict]:
    geoms = []
    for node in elem.iter():
        tag = _local(node.tag)
        if tag == "Point":
            c = next((_kml_coords(n.text) for n in node if _local(n.tag) == "coordinates"), [])
            geoms.append({"type": "Point", "coordinates": c[0] if c else None})
        elif tag == "LineString":
            c = next((_kml_coords(n.text) for n in node if _local(n.tag) == "coordinates"), [])
            geoms.append({"type": "LineString", "coordinates": c})
        elif tag == "Polygon":
            rings = []
            for boundary in node:
                if _local(boundary.tag) in ("outerBoundaryIs", "innerBoundaryIs"):
                    for n in boundary.iter():
                        if _local(n.tag) == "coordinates":
                            rings.append(_kml_coords(n.text))
            geoms.append({"type": "Polygon", "coordinates": rings})
    return geoms


def load_kml(path: Path | str) -> Imported:
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        raise ExchangeError(f"{path.name} 不是有效的 KML：{e}", f"{path.name} is not valid KML: {e}") from e
    raw = []
    for pm in root.iter():
        if _local(pm.tag) != "Placemark":
            continue
        name = next((n.text for n in pm if _local(n.tag) == "name"), None)
        desc = next((n.text for n in pm if _local(n.tag) == "description"), None)
        geoms = _kml_geometries(pm)
        geometry = geoms[0] if len(geoms) == 1 else {"type": "GeometryCollection", "geometries": geoms}
        raw.append({"type": "Feature", "geometry": geometry,
                    "properties": {k: v for k, v in (("name", name), ("description", desc)) if v}})
    doc_name = next((n.text for n in root.iter() if _local(n.tag) == "name"), None)
    result = validate_features(raw, doc_name or path.stem)
    if not result.features:
        raise ExchangeError(f"{path.name} 中没有可用的地标（{result.skipped} 个无效）。",
                            f"{path.name} holds no usable placemark ({result.skipped} invalid).")
    return result


def load_any(path: Path | str) -> Imported:
    return load_kml(path) if str(path).lower().endswith(".kml") else load_geojson(path)


def write_geojson(path: Path | str, features: list[dict], name: str = "") -> int:
    doc = {"type": "FeatureCollection", "name": name, "features": features}
    Path(path).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return len(features)


def point_feature(lon: float, lat: float, properties: dict, fid: str | None = None) -> dict:
    feat = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}
    if fid:
        feat["id"] = fid
    return feat
