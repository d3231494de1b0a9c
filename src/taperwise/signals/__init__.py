"""Adverse-event signal detection on FAERS and CAERS.

Modules: :mod:`.faers` and :mod:`.caers` (ingest to Parquet datasets), :mod:`.normalize`
(product-name folding, synonyms, bundled kratom / magnesium-citrate groups), :mod:`.source`
(inputs seen as one long table), :mod:`.counting` (DuckDB backend) and :mod:`.dask_backend`
(identical integer tables with Dask), :mod:`.pipeline` (count -> squash -> GPS fit -> scores).
The statistics themselves live in :mod:`taperwise.stats.gps` (pure).

Example
-------
>>> import pandas as pd
>>> from taperwise.signals.pipeline import score_source
>>> from taperwise.signals.source import open_source
>>> rows = pd.DataFrame({"id": [1, 1, 2], "drug": ["KRATOM", "KRATOM", "X"], "event": ["a", "b", "a"]})
>>> score_source(open_source(rows), theta=[0.2, 0.1, 2, 4, 0.3]).pairs
3
"""
