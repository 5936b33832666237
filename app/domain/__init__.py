"""Pure-Python domain: enumerations, entity catalogue, validation, geo, hash chain.

Nothing here imports Qt, SQL or HTTP (enforced by import-linter).
"""
