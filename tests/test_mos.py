"""`srlab mos`: the study in SQLite, the HTTP answers to bad input, restarts, the summary, and the page in Chromium."""

import io
import json
import math
import sqlite3
import threading
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import numpy as np
import pytest
from PIL import Image

from browser import browser, images_loaded, wait_for  # noqa: F401 (a fixture)
from conftest import photo_crops, write_images
from srlab.cli.mos import MOSServer, summary
from srlab.cli.zoo import main
from srlab.metrics.mos import mean_opinion_score

VERSIONS = ["Nearest", "Bicubic", "noisy", "HR"]


@pytest.fixture()
def study(tmp_path: Path) -> Path:
    """A study `t` of two HR images at x3: nearest, bicubic, a folder's 'SR' images (HR plus noise) and HR."""
    hr = write_images(tmp_path / "hr", photo_crops([(48, 60), (51, 45)], seed=7))
    (tmp_path / "sr").mkdir()
    rng = np.random.default_rng(1)
    for file in sorted(hr.iterdir()):
        pixels = np.asarray(Image.open(file))
        h, w = pixels.shape[0] // 3 * 3, pixels.shape[1] // 3 * 3
        noisy = np.clip(pixels[:h, :w].astype(int) + rng.integers(-9, 10, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(tmp_path / "sr" / file.name)
    db = tmp_path / "study.sqlite"
    main(["mos", "create", str(db), str(hr), "--study", "t", "--scale", "3", "--method", f"noisy={tmp_path / 'sr'}",
          "--calibration", "1"])  # fmt: skip
    return db


class Served:
    """A MOS server on a free port of 127.0.0.1, in a thread."""

    def __init__(self, db: Path) -> None:
        self.server = MOSServer(db, 0)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def call(self, path: str, body: dict | None = None, raw: bytes | None = None) -> tuple[int, object]:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = Request(self.url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urlopen(request, timeout=10) as response:
                status, payload = response.status, response.read()
        except HTTPError as err:
            status, payload = err.code, err.read()
        return status, json.loads(payload)


@pytest.fixture()
def served(study: Path):
    s = Served(study)
    yield s
    s.stop()


def ratings(db: Path) -> list[tuple[str, str, str, int]]:
    """(rater, image, method, score) of every rating, in the order given."""
    with sqlite3.connect(db) as con:
        return con.execute(
            "SELECT r.name, i.image, i.method, g.score FROM ratings g JOIN raters r ON g.rater_id = r.id "
            "JOIN items i ON g.item_id = i.id ORDER BY g.id"
        ).fetchall()


def test_study_holds_each_version_and_the_references(study: Path) -> None:
    with sqlite3.connect(study) as con:
        items = con.execute("SELECT image, method, kind, png FROM items ORDER BY id").fetchall()
    rated = [(image, method) for image, method, kind, _ in items if kind == "rated"]
    assert rated == [(image, m) for image in ("img00", "img01") for m in VERSIONS]
    assert [(i[0], i[1], i[2]) for i in items if i[2] != "rated"] == [("img00", "Nearest", "reference_1"), ("img00", "HR", "reference_5")]
    sizes = {Image.open(io.BytesIO(png)).size for image, _, _, png in items if image == "img00"}
    assert sizes == {(60, 48)}  # every version at HR size (48x60 is a multiple of 3)


def test_bad_requests_get_clear_answers(served: Served, study: Path) -> None:
    status, body = served.call("/api/nope/join", {"name": "ann"})
    assert status == 404 and "unknown study 'nope'" in body["error"] and "t" in body["error"]
    assert served.call("/study/nope/")[0] == 404
    joined = served.call("/api/t/join", {"name": "ann"})[1]
    rater, item = joined["rater"], joined["next"]["item"]
    assert joined["total"] == 8 and joined["rated"] == 0 and not joined["calibrated"]
    status, body = served.call("/api/t/ratings", {"rater": rater, "item": item, "score": 3})
    assert status == 409 and "reference images first" in body["error"]
    assert served.call("/api/t/calibrated", {"rater": rater})[1]["calibrated"]
    for score in (0, 6, 3.5, "4", None, True):
        status, body = served.call("/api/t/ratings", {"rater": rater, "item": item, "score": score})
        assert status == 400 and "out of range" in body["error"], score
    assert served.call("/api/t/ratings", {"rater": rater, "item": "feedbeef", "score": 3})[0] == 404
    assert served.call("/api/t/ratings", {"rater": "nobody", "item": item, "score": 3})[0] == 404
    assert served.call("/api/t/ratings", raw=b"{not json")[0] == 400
    status, body = served.call("/api/t/ratings", {"rater": rater, "item": item, "score": 4})
    assert status == 200 and body["rated"] == 1 and body["next"]["item"] != item
    status, body = served.call("/api/t/ratings", {"rater": rater, "item": item, "score": 5})
    assert status == 409 and "rated by this rater already" in body["error"]
    assert [r[3] for r in ratings(study)] == [4]  # only the accepted rating is stored


def test_restart_resumes_where_the_rater_stopped(study: Path) -> None:
    first = Served(study)
    joined = first.call("/api/t/join", {"name": "bob"})[1]
    first.call("/api/t/calibrated", {"rater": joined["rater"]})
    shown = [joined["next"]["item"]]
    body = first.call("/api/t/ratings", {"rater": joined["rater"], "item": shown[0], "score": 2})[1]
    shown.append(body["next"]["item"])
    first.stop()  # the browser and the server are gone; the ratings are in the file
    assert len(ratings(study)) == 1
    second = Served(study)
    try:
        again = second.call("/api/t/join", {"name": "bob"})[1]
        assert again["rater"] == joined["rater"] and again["calibrated"] and again["rated"] == 1
        assert again["next"]["item"] == shown[1]  # the same order, from the rater's stored seed
        other = second.call("/api/t/join", {"name": "carol"})[1]
        assert other["rater"] != joined["rater"] and other["rated"] == 0
    finally:
        second.stop()


def test_order_is_drawn_per_rater(served: Served) -> None:
    orders = []
    for name in ("r1", "r2", "r3"):
        rater = served.call("/api/t/join", {"name": name})[1]["rater"]
        served.call("/api/t/calibrated", {"rater": rater})
        order = []
        while (progress := served.call(f"/api/t/progress?rater={rater}")[1])["next"]:
            order.append(progress["next"]["item"])
            served.call("/api/t/ratings", {"rater": rater, "item": order[-1], "score": 3})
        orders.append(order)
    assert all(sorted(o) == sorted(orders[0]) and len(o) == 8 for o in orders)
    assert len({tuple(o) for o in orders}) > 1  # three shuffles of 8 items are not all equal (chance 1 in 40320^2)


def test_mean_opinion_score_interval() -> None:
    m = mean_opinion_score([1, 2, 3, 4, 5])
    # t(0.975, 4) = 2.776445, sample std sqrt(2.5): 3 ± 2.776445 * 1.581139 / sqrt(5)
    assert m.mean == 3 and m.count == 5 and m.half_width == pytest.approx(1.963243, abs=1e-6)
    assert (m.low, m.high) == pytest.approx((1.036757, 4.963243), abs=1e-6)
    single = mean_opinion_score([4])
    assert single.mean == 4 and math.isnan(single.half_width)
    with pytest.raises(ValueError, match="no scores"):
        mean_opinion_score([])


def test_summary_per_method_and_per_rater(served: Served, study: Path, capsys) -> None:
    given = {"Nearest": [1, 2], "Bicubic": [3, 2], "noisy": [4, 4], "HR": [5, 4]}  # per method, for ann then bob
    with sqlite3.connect(study) as con:
        method_of = dict(con.execute("SELECT token, method FROM items WHERE kind = 'rated'").fetchall())
        image_of = dict(con.execute("SELECT token, image FROM items WHERE kind = 'rated'").fetchall())
    for who, name in enumerate(("ann", "bob")):
        rater = served.call("/api/t/join", {"name": name})[1]["rater"]
        served.call("/api/t/calibrated", {"rater": rater})
        while (progress := served.call(f"/api/t/progress?rater={rater}")[1])["next"]:
            item = progress["next"]["item"]
            score = given[method_of[item]][who] + (image_of[item] == "img01" and method_of[item] == "Bicubic")
            served.call("/api/t/ratings", {"rater": rater, "item": item, "score": score})
    result = summary(study, "t")["t"]
    scores = {"Nearest": [1, 1, 2, 2], "Bicubic": [3, 4, 2, 3], "noisy": [4, 4, 4, 4], "HR": [5, 5, 4, 4]}
    assert list(result["methods"]) == ["HR", "noisy", "Bicubic", "Nearest"]  # by MOS
    for method, values in scores.items():
        expected = mean_opinion_score(values)
        got = result["methods"][method]
        assert got["mean"] == pytest.approx(np.mean(values)) and got["count"] == 4
        assert got["half_width"] == pytest.approx(expected.half_width, nan_ok=True)
    assert result["methods"]["Bicubic"]["half_width"] == pytest.approx(3.182446 * np.std([3, 4, 2, 3], ddof=1) / 2, abs=1e-5)
    assert result["raters"]["ann"] == {"calibrated": True, "rated": 8, "of": 8, "mean": 3.375,
                                       "methods": {"Nearest": 1, "Bicubic": 3.5, "noisy": 4, "HR": 5}}  # fmt: skip
    main(["mos", "summary", str(study)])
    printed = capsys.readouterr().out
    assert "| HR | 4.50 | 3.58 - 5.42 |" in printed  # 4.5 ± 3.182446 * 0.57735 / 2
    assert "| bob | yes | 8 / 8 |" in printed


def test_create_and_summary_errors(study: Path, tmp_path: Path, caplog) -> None:
    for args, message in (
        (["create", str(study), str(tmp_path / "hr"), "--study", "t", "--scale", "3"], "study t exists"),
        (["create", str(study), str(tmp_path / "hr"), "--study", "a b", "--scale", "3"], "use letters, digits"),
        (["summary", str(study), "--study", "zzz"], "holds no such study"),
        (["summary", str(tmp_path / "absent.sqlite")], "does not exist"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(["mos", *args])
        assert exit_info.value.code == 1 and message in caplog.text, args


def test_rating_page_in_chromium(served: Served, study: Path, browser, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(f"{served.url}/study/t/")
    browser.find_element(By.ID, "name").send_keys("dora")
    browser.find_element(By.CSS_SELECTOR, "#join button").click()
    wait_for(browser, "!document.getElementById('calibration').classList.contains('hidden')")
    wait_for(browser, "document.querySelectorAll('#references img').length === 2")
    loaded = images_loaded(browser)
    references = [(alt, w) for alt, w in loaded if alt.startswith("reference")]
    assert [alt for alt, _ in references] == ["reference 1", "reference 5"] and all(w == 60 for _, w in references)
    browser.save_screenshot(str(tmp_path / "calibration.png"))
    browser.find_element(By.ID, "calibrated").click()
    shown = []
    for i in range(8):
        wait_for(browser, f"document.getElementById('progress').textContent === 'image {i + 1} of 8'")
        assert wait_for(browser, "document.getElementById('shown').complete && document.getElementById('shown').naturalWidth") > 0
        src = browser.execute_script("return document.getElementById('shown').src")
        assert not any(v.lower() in src.lower() for v in VERSIONS)  # the method is hidden
        shown.append(src.rsplit("/", 1)[1].removesuffix(".png"))
        if i == 0:
            browser.save_screenshot(str(tmp_path / "rating.png"))
            assert (tmp_path / "rating.png").stat().st_size > 5_000
        score = i % 5 + 1
        if i % 2:
            browser.find_element(By.CSS_SELECTOR, f"#scores button[data-score='{score}']").click()
        else:
            browser.find_element(By.TAG_NAME, "body").send_keys(str(score))  # keys 1-5 score too
    wait_for(browser, "!document.getElementById('done').classList.contains('hidden')")
    with sqlite3.connect(study) as con:
        stored = con.execute(
            "SELECT i.token, g.score FROM ratings g JOIN raters r ON g.rater_id = r.id JOIN items i ON g.item_id = i.id "
            "WHERE r.name = 'dora' ORDER BY g.id"
        ).fetchall()
    assert stored == [(token, i % 5 + 1) for i, token in enumerate(shown)]
    assert len(set(shown)) == 8
    browser.refresh()  # the page remembers the rater: nothing is asked again
    wait_for(browser, "!document.getElementById('done').classList.contains('hidden')")
