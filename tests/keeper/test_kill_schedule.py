"""Kill -9 at seeded points: `calcm keeper` as a subprocess (signing with an encrypted
keystore) against anvil for 20 blocks, SIGKILLed at 5 seeded points (after the K-th mined
submission of a round, before it is recorded; or a seeded delay into a round) and restarted
on the same store each time. The chain's keeper transactions per (kind, group, round) must
equal the schedule exactly: nothing lost, nothing duplicated, nothing reverted.

The full run (20 kills over 100 blocks) is `calcm bench keeper --kills 20 --blocks 100`."""
from __future__ import annotations

from collections import Counter

import pytest

from calcm.keeper.crash_run import run_schedule, small_world
from calcm.keeper.crash_schedule import make_schedule, outcome

pytestmark = pytest.mark.slow
#: Its 5 kills: genesis (delay), intraday (delay), root after margin 0 of 2 (a proven margin
#: left unsent), root after both margins, close after the step.
SEED = 2046
#: Fewer proving rounds than the bench's mix (0.3 / 0.08) keep make test short.
MIX = {"intraday": 0.15, "root": 0.1}


def test_schedule_is_seeded_and_covers_both_kill_modes():
    a, b = make_schedule(20, 5, 1, SEED, **MIX), make_schedule(20, 5, 1, SEED, **MIX)
    assert a == b and a != make_schedule(20, 5, 1, SEED + 1, **MIX)
    kills = [r.kill for r in a if r.kill]
    assert len(kills) == 5 and {k.mode for k in kills} == {"after-send", "delay"}
    assert Counter(r.kind for r in a)["close"] == 1 and a[0].kind == "genesis"
    # a kill between two margin sends: the second margin's proof is stored, not yet sent
    assert any(r.kind == "root" and r.kill.mode == "after-send" and r.kill.value == 1
               for r in a if r.kill)


@pytest.mark.bench  # the full schedule runs as `calcm bench keeper --kills`
def test_seeded_kills_lose_and_duplicate_nothing(tmp_path, test_book):
    rounds = make_schedule(blocks=20, kills=5, days=1, seed=SEED, **MIX)
    world = small_world(days=1, book=test_book)
    try:
        res = run_schedule(rounds, world, tmp_path)
        out = outcome(world, res)
    finally:
        world.close()
    assert len(res.kills) == 5
    # at least one kill fired between a mined submission and its record
    assert any(k["status"] == "fired" for k in res.kills), res.kills
    assert all(k["exit"] == -9 for k in res.kills), res.kills
    assert out["lost"] == [] and out["duplicated"] == [] and out["reverted_keys"] == [], out
    assert out["exact"] and out["landed"] == out["expected"] > 0, out
