"""Write the demo district's boundaries as GeoJSON: ``python -m app.demo.export_geojson``.

The file (resources/geo/yuexiu_demo.geojson) is the offline base layer of the
map panel: one feature per org unit with a boundary (district, streets,
communities), ids equal to the org-unit ids ``generate_records`` yields, and
``synthetic: true`` on every feature because the shapes are invented.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.demo import geography
from app.demo.district import DEMO_SEED

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "resources" / "geo" / "yuexiu_demo.geojson"


def feature_collection(seed: int = DEMO_SEED) -> dict:
    district = geography.build(seed)
    features = []
    for unit in district.units():
        if unit.boundary is None:
            continue
        features.append({
            "type": "Feature", "id": unit.id, "geometry": unit.boundary,
            "properties": {"id": unit.id, "name": unit.name, "kind": unit.kind, "code": unit.code,
                           "parent_id": unit.parent_id, "population": unit.population,
                           "centroid": [unit.lon, unit.lat], "synthetic": True},
        })
    return {"type": "FeatureCollection", "name": "yuexiu_demo",
            "properties": {"synthetic": True, "seed": seed,
                           "note": "虚构边界，仅用于演示；街道名称取自越秀区，形状与面积均为合成数据。"},
            "features": features}


def write(path: Path = DEFAULT_PATH, seed: int = DEMO_SEED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(feature_collection(seed), ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    args = parser.parse_args(argv)
    out = write(args.path, args.seed)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
