"""The server warm-up: protocols parsed, instruments loaded, pool connections opened."""

from __future__ import annotations


def test_warm_up_parses_protocols_and_opens_connections(kmc_study):
    from taperwise.store import studies
    from taperwise.web.warmup import warm_up

    engine, _study_id, _ = kmc_study
    studies._parse_cached.cache_clear()
    from taperwise.web.security import SessionStore

    warm_up(engine, connections=3, sessions=SessionStore(engine))
    assert studies._parse_cached.cache_info().currsize == 1
    if engine.dialect.name != "sqlite":
        assert engine.pool.checkedin() >= 3
