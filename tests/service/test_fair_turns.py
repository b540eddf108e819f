"""Issue 14 item 7: a queue that keeps one office from starving the rest. Uploads are checked one at a time; the
waiting ones are served in turn by country (pipelines/service/fair.py), so Brazil's one file is checked right
after Argentina's current file, not after the five Argentina queued before it."""

from __future__ import annotations

import threading
import time

from pipelines.service.fair import FairTurns


def test_one_office_never_starves_another():
    turns = FairTurns()
    order: list[str] = []
    release = threading.Event()

    def job(key: str, name: str, hold: bool = False):
        with turns.turn(key):
            order.append(name)
            if hold:
                release.wait(5)

    first = threading.Thread(target=job, args=("ARG", "arg1", True))
    first.start()
    while not order:
        time.sleep(0.01)
    threads = []
    for i in range(2, 7):                       # Argentina queues five more files
        threads.append(threading.Thread(target=job, args=("ARG", f"arg{i}")))
        threads[-1].start()
        time.sleep(0.02)
    while turns.waiting().get("ARG", 0) < 5:
        time.sleep(0.01)
    threads.append(threading.Thread(target=job, args=("BRA", "bra1")))   # then Brazil sends one
    threads[-1].start()
    while turns.waiting().get("BRA", 0) < 1:
        time.sleep(0.01)
    release.set()
    for t in [first, *threads]:
        t.join(10)
    assert order[0] == "arg1"
    assert order.index("bra1") <= 2, order        # Brazil waits for at most one more Argentine file
    assert [o for o in order if o.startswith("arg")] == [f"arg{i}" for i in range(1, 7)]   # in order within ARG
    assert not turns.waiting()


def test_a_failing_check_frees_the_turn():
    turns = FairTurns()
    try:
        with turns.turn("ARG"):
            raise RuntimeError("the check broke")
    except RuntimeError:
        pass
    done = []
    t = threading.Thread(target=lambda: turns.turn("BRA").__enter__() and None or done.append(1))
    t.start()
    t.join(2)
    assert done == [1]


def test_the_answer_does_not_wait_when_the_checks_take_longer(app_factory, tmp_path):
    """Validation off the request path: with HEMISTAT_VERDICT_WAIT_S=0 the upload is answered at once ("received",
    checking) and the checks finish in the background; the submission then reads its verdict."""
    from tests.conftest import REPO

    srv = app_factory(HEMISTAT_VERDICT_WAIT_S="0")
    srv.user("ofi.ury", "office", "URY")
    token = srv.token("ofi.ury")
    head = (REPO / "reference" / "templates" / "hemistat_template.csv").read_text(encoding="utf-8").splitlines()[0]
    f = tmp_path / "plantilla_ury.csv"
    f.write_text(head + "\n" + "\n".join(f"URY,,,{y},,0101,Homicidio intencional,offences,_T,_T,{200 + y % 7},A,"
                                         for y in (2021, 2022, 2023)) + "\n", encoding="utf-8")
    code, body = srv.upload(token, f, source="iccs_template")
    assert code == 201 and body["checking"] is True and body["status"] == "received", body
    sid = body["submission_id"]
    deadline = time.time() + 120
    while time.time() < deadline:
        code, info = srv.api(token, "GET", f"/api/submissions/{sid}")
        if info.get("status") != "received":
            break
        time.sleep(0.5)
    assert info["status"] == "awaiting_review", info      # passed every rule; a web upload waits for approval
    assert info.get("verdict") in ("accepted", "review"), info
