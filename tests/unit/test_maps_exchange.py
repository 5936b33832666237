"""GeoJSON/KML in and out, and the geometry helpers used by "list what lies inside" and measuring."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.domain.geo import haversine_m
from app.services.maps import exchange, spatial

SQUARE = [[113.26, 23.12], [113.27, 23.12], [113.27, 23.13], [113.26, 23.13], [113.26, 23.12]]


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def test_geojson_loads_and_skips_bad_coordinates_with_a_reason(tmp_path):
    doc = {"type": "FeatureCollection", "name": "drill", "features": [
        {"type": "Feature", "properties": {"name": "ok"},
         "geometry": {"type": "Point", "coordinates": [113.27, 23.13]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [213.27, 23.13]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [113.27, 95]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": ["a", "b"]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [SQUARE]}},
        {"type": "Feature", "properties": {}, "geometry": None},
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[1, 2]]}},
    ]}
    got = exchange.load_geojson(write(tmp_path, "a.geojson", doc))
    assert got.name == "drill"
    assert [f["geometry"]["type"] for f in got.features] == ["Point", "Polygon"]
    assert got.skipped == 5 and len(got.problems) == 5
    assert "第 2 个要素" in got.problems[0][0] and "Feature 2" in got.problems[0][1]


def test_nan_coordinates_are_rejected(tmp_path):
    path = tmp_path / "nan.geojson"
    path.write_text('{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[NaN, 23]}}')
    with pytest.raises(exchange.ExchangeError):
        exchange.load_geojson(path)


@pytest.mark.parametrize("text, words", [
    ("{not json", "not valid GeoJSON"),
    ('{"type": "Topology"}', "not GeoJSON"),
    ('[1, 2, 3]', "not a GeoJSON object"),
    ('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[500,1]}}]}',
     "no usable feature"),
])
def test_bad_geojson_files_give_a_clear_message(tmp_path, text, words):
    with pytest.raises(exchange.ExchangeError) as e:
        exchange.load_geojson(write(tmp_path, "bad.geojson", text))
    assert words in e.value.en and e.value.zh


def test_kml_placemarks_become_features(tmp_path):
    kml = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>转移路线</name>
 <Placemark><name>集合点</name><Point><coordinates>113.27,23.13,0</coordinates></Point></Placemark>
 <Placemark><name>路线</name><LineString><coordinates>113.26,23.12 113.27,23.13</coordinates></LineString></Placemark>
 <Placemark><name>区</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
   113.26,23.12 113.27,23.12 113.27,23.13 113.26,23.12</coordinates></LinearRing></outerBoundaryIs>
 </Polygon></Placemark>
 <Placemark><name>坏点</name><Point><coordinates>999,23</coordinates></Point></Placemark>
</Document></kml>"""
    got = exchange.load_kml(write(tmp_path, "r.kml", kml))
    assert got.name == "转移路线"
    assert [f["geometry"]["type"] for f in got.features] == ["Point", "LineString", "Polygon"]
    assert got.features[0]["properties"]["name"] == "集合点"
    assert got.skipped == 1


def test_broken_kml_is_an_error_not_a_crash(tmp_path):
    with pytest.raises(exchange.ExchangeError, match="not valid KML"):
        exchange.load_kml(write(tmp_path, "b.kml", "<kml><Placemark>"))


def test_export_then_import_round_trip(tmp_path):
    feats = [exchange.point_feature(113.27, 23.13, {"name": "队伍甲"}, "id-1")]
    path = tmp_path / "out.geojson"
    assert exchange.write_geojson(path, feats, "team") == 1
    back = exchange.load_any(path)
    assert back.features[0]["geometry"]["coordinates"] == [113.27, 23.13]
    assert back.features[0]["properties"]["name"] == "队伍甲" and back.features[0]["id"] == "id-1"


def test_points_in_ring_and_geometry():
    lon = np.array([113.265, 113.275, 113.2601, 113.2699])
    lat = np.array([23.125, 23.125, 23.1201, 23.1299])
    assert spatial.points_in_ring(lon, lat, SQUARE).tolist() == [True, False, True, True]
    hole = [[113.264, 23.124], [113.266, 23.124], [113.266, 23.126], [113.264, 23.126], [113.264, 23.124]]
    inside = spatial.points_in_geometry(lon, lat, {"type": "Polygon", "coordinates": [SQUARE, hole]})
    assert inside.tolist() == [False, False, True, True]


def test_area_and_length_on_the_sphere():
    # A 0.01° square at 23° N: about 1,112 m by 1,024 m.
    w = haversine_m(113.26, 23.125, 113.27, 23.125)
    h = haversine_m(113.26, 23.12, 113.26, 23.13)
    area = spatial.polygon_area_m2([tuple(p) for p in SQUARE[:-1]])
    assert math.isclose(area, w * h, rel_tol=0.01)
    assert math.isclose(spatial.path_length_m([(113.26, 23.12), (113.27, 23.12), (113.27, 23.13)]),
                        haversine_m(113.26, 23.12, 113.27, 23.12) + h, rel_tol=1e-9)
    d = spatial.distances_m(np.array([113.27]), np.array([23.12]), 113.26, 23.12)
    assert math.isclose(d[0], haversine_m(113.26, 23.12, 113.27, 23.12), rel_tol=1e-9)
