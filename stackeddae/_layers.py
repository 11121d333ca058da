"""The dense layers of fitted estimators, run forward."""

# Rows per chunk when scoring, so that memory stays bounded on large (or sparse) X.
CHUNK_ROWS = 1024
