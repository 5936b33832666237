"""The map's Qt-free half: tile maths, tile sources (MBTiles, XYZ with a disk cache), area download,
GeoJSON/KML exchange, GCJ-02, and the layer / nearest / inside queries over the cache."""
