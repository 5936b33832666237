"""Qt item models over the query services: ordered ids plus a cache of frozen rows."""
