"""Signalling through the central server's relay (/api/v1/signalling/{room}): a real server process,
two consoles signed in, VP8 video across; no token, no room."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from video_helpers import wait_for

from app.video.mesh import MeshSession
from app.video.pattern import read_counter

SYNC_TESTS = Path(__file__).resolve().parents[1] / "sync"


@pytest.fixture
def server(tmp_path):
    if str(SYNC_TESTS) not in sys.path:
        sys.path.append(str(SYNC_TESTS))
    import sync_live
    import sync_world
    from app.server import db

    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = db.make_engine(url)
    db.init_schema(engine)
    sync_world.seed_world(engine)
    engine.dispose()
    proc = sync_live.ServerProcess(url, tmp_path / "server.log").start()
    yield proc, sync_live
    proc.kill()


def test_two_consoles_signal_through_the_server(engine, server):
    proc, sync_live = server
    tokens = []
    for user in ("officer_d", "officer_s1"):
        console = sync_live.Console(proc, user)
        assert console.login().status_code == 200
        tokens.append(console.token)
    url = proc.base.replace("http://", "ws://") + "/api/v1/signalling"
    got: dict[str, list[int]] = {}
    sessions = [MeshSession(room="call-1", name=n, signalling_urls=[url], width=320, height=240, fps=15, token=t,
                            on_frame=lambda peer, rgb, n=n: got.setdefault(n, []).append(read_counter(rgb)))
                for n, t in (("DISTRICT", tokens[0]), ("STREET", tokens[1]))]
    try:
        for s in sessions:
            engine.run(s.join())
            assert s.state == "joined" and s.signalling.url == url
        wait_for(lambda: all(len(got.get(n, [])) >= 20 for n in ("DISTRICT", "STREET")), 20, "video both ways")
        # 20 frames from two sources (own preview at 10 fps + the peer at 15 fps): the counters advance
        assert max(got["DISTRICT"]) > 5 and max(got["STREET"]) > 5
    finally:
        for s in sessions:
            engine.run(s.leave())

    # without a valid token the server refuses, and the client says video is unavailable
    anonymous = MeshSession(room="call-1", name="X", signalling_urls=[url], token=None)
    engine.run(anonymous.join())
    assert anonymous.state == "unavailable"
