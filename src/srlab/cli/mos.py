"""`srlab mos`: a mean-opinion-score study, as in SRGAN's MOS test, served on 127.0.0.1 and kept in SQLite.

    srlab mos create study.sqlite --study set5_x4 data/Set5 --scale 4 --method fsrcnn_x4 --method esrgan=results/esrgan/
    srlab mos serve study.sqlite --port 8000        # raters open http://127.0.0.1:8000/
    srlab mos summary study.sqlite --study set5_x4  # MOS per method with 95% intervals, and per rater

`create` makes every version of each HR image (files or folders): bicubic and each method (a checkpoint, a
shipped weight or a folder of SR images, as `srlab compare` takes them), and unless `--no-references` the
nearest-neighbour upscaled LR image and HR too, which SRGAN's raters also scored. It stores them with the
calibration references: for the first `--calibration` images (or `--calibration-images`), the
nearest-neighbour upscaled LR image, shown as a 1, and HR, shown as a 5.

A rater gives a name, sees the references, then one image at a time with its method hidden, in an order
drawn for that rater, and scores it 1 (bad) to 5 (excellent). Each rating is written to SQLite when it is
given, so a closed browser or a stopped server loses nothing: the same name resumes where it stopped.
An unknown study (404), a second rating of an image (409) and a score other than 1-5 (400) get a JSON
error that says so.
"""

import argparse
import json
import random
import re
import secrets
import sqlite3
import statistics
from collections import defaultdict
from contextlib import closing
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np

from srlab.cli.compare import WEB, image_versions, method_scale, parse_methods, png_bytes
from srlab.data.images import list_images
from srlab.metrics.mos import mean_opinion_score

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, scale INTEGER NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL REFERENCES studies(id), token TEXT UNIQUE NOT NULL,
    image TEXT NOT NULL, method TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('rated', 'reference_1', 'reference_5')), png BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS raters (
    id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL REFERENCES studies(id), name TEXT NOT NULL,
    token TEXT UNIQUE NOT NULL, seed INTEGER NOT NULL, created TEXT NOT NULL, calibrated TEXT,
    UNIQUE (study_id, name));
CREATE TABLE IF NOT EXISTS ratings (
    id INTEGER PRIMARY KEY, rater_id INTEGER NOT NULL REFERENCES raters(id),
    item_id INTEGER NOT NULL REFERENCES items(id), score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    created TEXT NOT NULL, UNIQUE (rater_id, item_id));
"""
NEAREST, HR = "Nearest", "HR"
STUDY_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class StudyError(Exception):
    """A request the study cannot take, with the HTTP status that says why."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "mos", help="a MOS rating study: create it, serve it on 127.0.0.1, summarise it", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="store a study's images in the database")
    create.add_argument("db", type=Path, help="the SQLite file (made if absent)")
    create.add_argument("images", nargs="+", type=Path, help="HR image files or folders")
    create.add_argument("--study", required=True, help="the study's name (letters, digits, _ . -)")
    create.add_argument("--method", action="append", default=[], metavar="[LABEL=]SOURCE",
                        help="a checkpoint, a shipped weight or a folder of SR images (repeat for several)")  # fmt: skip
    create.add_argument("--scale", type=int, help="the scale (default: the first net's)")
    create.add_argument("--calibration", type=int, default=2, help="HR images shown as references (2)")
    create.add_argument("--calibration-images", nargs="+", type=Path, help="reference images other than the study's")
    create.add_argument("--no-references", action="store_true", help="do not rate nearest-neighbour LR and HR too")
    create.set_defaults(run=run_create)
    serve = actions.add_parser("serve", help="serve the rating page on 127.0.0.1")
    serve.add_argument("db", type=Path)
    serve.add_argument("--port", type=int, default=8000, help="the port (8000; 0: any free one)")
    serve.set_defaults(run=run_serve)
    summary = actions.add_parser("summary", help="MOS per method with 95%% intervals, and per rater")
    summary.add_argument("db", type=Path)
    summary.add_argument("--study", help="the study (default: every one)")
    summary.add_argument("--json", action="store_true", help="print JSON")
    summary.set_defaults(run=run_summary)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def connect(db: Path, create: bool = False) -> sqlite3.Connection:
    if not create and not db.is_file():
        raise FileNotFoundError(f"{db} does not exist: make the study first with `srlab mos create {db} ...`")
    con = sqlite3.connect(db)
    con.execute("PRAGMA foreign_keys = ON")
    con.executescript(SCHEMA)
    return con


# --- creating a study --------------------------------------------------------------------------------
def run_create(args: argparse.Namespace) -> None:
    if not STUDY_NAME.match(args.study):
        raise ValueError(f"--study {args.study!r}: use letters, digits, '_', '.' and '-' only")
    methods = parse_methods(args.method)
    scale = method_scale(methods, args.scale)
    files = list_images(args.images)
    references = list_images(args.calibration_images) if args.calibration_images else files[: args.calibration]
    with closing(connect(args.db, create=True)) as con, con:
        if con.execute("SELECT 1 FROM studies WHERE name = ?", (args.study,)).fetchone():
            raise ValueError(f"study {args.study} exists in {args.db} already: pick another --study")
        study = con.execute("INSERT INTO studies (name, scale, created) VALUES (?, ?, ?)", (args.study, scale, now())).lastrowid
        rated = 0
        for hr_file in files:
            name, found = image_versions(hr_file, scale, methods)
            for version in found:
                if version.name == "LR (nearest)":
                    if args.no_references:
                        continue
                    method, pixels = NEAREST, nearest(version.pixels, scale)
                else:
                    if version.name == HR and args.no_references:
                        continue
                    method, pixels = version.name, version.pixels
                add_item(con, study, name, method, "rated", pixels)
                rated += 1
        for hr_file in references:
            name, found = image_versions(hr_file, scale, {})
            add_item(con, study, name, NEAREST, "reference_1", nearest(found[0].pixels, scale))
            add_item(con, study, name, HR, "reference_5", found[-1].pixels)
    print(f"study {args.study} in {args.db}: {rated} images to rate ({len(files)} HR images x "
          f"{rated // max(1, len(files))} versions), {len(references)} reference pairs")  # fmt: skip


def nearest(pixels: np.ndarray, scale: int) -> np.ndarray:
    return pixels.repeat(scale, axis=0).repeat(scale, axis=1)


def add_item(con: sqlite3.Connection, study: int, image: str, method: str, kind: str, pixels: np.ndarray) -> None:
    con.execute(
        "INSERT INTO items (study_id, token, image, method, kind, png) VALUES (?, ?, ?, ?, ?, ?)",
        (study, secrets.token_hex(8), image, method, kind, png_bytes(pixels)),
    )


# --- the study's state -------------------------------------------------------------------------------
class Study:
    """Requests on one database; each opens its own connection, and each rating is committed at once."""

    def __init__(self, db: Path) -> None:
        self.db = db
        connect(db).close()

    def _study(self, con: sqlite3.Connection, name: str) -> int:
        row = con.execute("SELECT id FROM studies WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = ", ".join(r[0] for r in con.execute("SELECT name FROM studies ORDER BY name")) or "none"
            raise StudyError(HTTPStatus.NOT_FOUND, f"unknown study {name!r}; the studies are: {known}")
        return row[0]

    def _rater(self, con: sqlite3.Connection, study: int, token: str | None) -> tuple[int, int, str | None]:
        row = con.execute("SELECT id, seed, calibrated FROM raters WHERE study_id = ? AND token = ?", (study, token)).fetchone()
        if row is None:
            raise StudyError(HTTPStatus.NOT_FOUND, "unknown rater: start again from the study's page and give your name")
        return row

    def studies(self) -> list[str]:
        with closing(connect(self.db)) as con:
            return [r[0] for r in con.execute("SELECT name FROM studies ORDER BY name")]

    def check(self, name: str) -> None:
        with closing(connect(self.db)) as con:
            self._study(con, name)

    def join(self, name: str, rater: str) -> dict:
        """The rater called `rater` (made at the first visit, found again after): a token and a progress."""
        rater = rater.strip()
        if not rater or len(rater) > 80:
            raise StudyError(HTTPStatus.BAD_REQUEST, "give a name of 1 to 80 characters")
        with closing(connect(self.db)) as con, con:
            study = self._study(con, name)
            row = con.execute("SELECT token FROM raters WHERE study_id = ? AND name = ?", (study, rater)).fetchone()
            if row is None:
                token = secrets.token_hex(12)
                con.execute(
                    "INSERT INTO raters (study_id, name, token, seed, created) VALUES (?, ?, ?, ?, ?)",
                    (study, rater, token, secrets.randbits(31), now()),
                )
            else:
                token = row[0]
        return {"rater": token, **self.progress(name, token)}

    def references(self, name: str) -> list[dict]:
        with closing(connect(self.db)) as con:
            study = self._study(con, name)
            rows = con.execute(
                "SELECT image, kind, token FROM items WHERE study_id = ? AND kind != 'rated' ORDER BY id", (study,)
            ).fetchall()
        pairs: dict[str, dict] = defaultdict(dict)
        for image, kind, token in rows:
            pairs[image][kind[-1]] = f"/image/{name}/{token}.png"
        return [{"1": p["1"], "5": p["5"]} for p in pairs.values()]

    def calibrated(self, name: str, token: str) -> dict:
        with closing(connect(self.db)) as con, con:
            rater = self._rater(con, self._study(con, name), token)
            con.execute("UPDATE raters SET calibrated = COALESCE(calibrated, ?) WHERE id = ?", (now(), rater[0]))
        return self.progress(name, token)

    def _order(self, con: sqlite3.Connection, study: int, seed: int) -> list[tuple[int, str]]:
        """The rater's order of the rated items: a shuffle drawn from the rater's seed, the same after a restart."""
        items = con.execute("SELECT id, token FROM items WHERE study_id = ? AND kind = 'rated' ORDER BY id", (study,)).fetchall()
        random.Random(seed).shuffle(items)
        return items

    def progress(self, name: str, token: str) -> dict:
        """How far the rater is, and the next image to score (none when done)."""
        with closing(connect(self.db)) as con:
            study = self._study(con, name)
            rater, seed, calibrated = self._rater(con, study, token)
            done = {r[0] for r in con.execute("SELECT item_id FROM ratings WHERE rater_id = ?", (rater,))}
            order = self._order(con, study, seed)
        left = [t for i, t in order if i not in done]
        return {"calibrated": calibrated is not None, "rated": len(done), "total": len(order),
                "next": None if not left else {"item": left[0], "url": f"/image/{name}/{left[0]}.png"}}  # fmt: skip

    def rate(self, name: str, token: str, item: str, score: object) -> dict:
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise StudyError(HTTPStatus.BAD_REQUEST, f"score {score!r} is out of range: give a whole number from 1 to 5")
        with closing(connect(self.db)) as con, con:
            study = self._study(con, name)
            rater, _, calibrated = self._rater(con, study, token)
            if calibrated is None:
                raise StudyError(HTTPStatus.CONFLICT, "see the reference images first (calibration), then rate")
            row = con.execute("SELECT id FROM items WHERE study_id = ? AND token = ? AND kind = 'rated'", (study, item)).fetchone()
            if row is None:
                raise StudyError(HTTPStatus.NOT_FOUND, f"study {name} has no image {item!r} to rate")
            try:
                con.execute("INSERT INTO ratings (rater_id, item_id, score, created) VALUES (?, ?, ?, ?)",
                            (rater, row[0], score, now()))  # fmt: skip
            except sqlite3.IntegrityError:
                raise StudyError(HTTPStatus.CONFLICT, f"image {item} was rated by this rater already; "
                                 "each image is rated once") from None  # fmt: skip
        return self.progress(name, token)

    def image(self, name: str, item: str) -> bytes:
        with closing(connect(self.db)) as con:
            study = self._study(con, name)
            row = con.execute("SELECT png FROM items WHERE study_id = ? AND token = ?", (study, item)).fetchone()
        if row is None:
            raise StudyError(HTTPStatus.NOT_FOUND, f"study {name} has no image {item!r}")
        return row[0]


# --- the server --------------------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    """GET /, /study/<name>/, /image/<name>/<item>.png, /api/<name>/references, /api/<name>/progress?rater=;
    POST /api/<name>/join {name}, /api/<name>/calibrated {rater}, /api/<name>/ratings {rater, item, score}."""

    server: "MOSServer"

    def log_message(self, format: str, *args) -> None:  # one line per request, not per header
        print(f"{self.address_string()} {format % args}")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: HTTPStatus, value: object) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        study = self.server.study
        try:
            if method == "GET" and not parts:
                links = "".join(f'<li><a href="/study/{s}/">{s}</a></li>' for s in study.studies())
                self._send(HTTPStatus.OK, f"<!doctype html><title>MOS studies</title><h1>MOS studies</h1><ul>{links}</ul>".encode(),
                           "text/html; charset=utf-8")  # fmt: skip
            elif method == "GET" and len(parts) == 2 and parts[0] == "study":
                study.check(parts[1])
                page = (WEB / "mos.html").read_text().replace("{{study}}", parts[1])
                self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")
            elif method == "GET" and len(parts) == 3 and parts[0] == "image" and parts[2].endswith(".png"):
                self._send(HTTPStatus.OK, study.image(parts[1], parts[2][:-4]), "image/png")
            elif len(parts) == 3 and parts[0] == "api":
                self._json(HTTPStatus.OK, self._api(method, parts[1], parts[2], url.query))
            else:
                raise StudyError(HTTPStatus.NOT_FOUND, f"no page {url.path}")
        except StudyError as err:
            self._json(err.status, {"error": str(err)})

    def _api(self, method: str, name: str, action: str, query: str) -> object:
        study = self.server.study
        if method == "GET" and action == "references":
            return study.references(name)
        if method == "GET" and action == "progress":
            return study.progress(name, parse_qs(query).get("rater", [""])[0])
        if method != "POST" or action not in ("join", "calibrated", "ratings"):
            raise StudyError(HTTPStatus.NOT_FOUND, f"no {method} /api/{name}/{action}")
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except json.JSONDecodeError as err:
            raise StudyError(HTTPStatus.BAD_REQUEST, f"the request body is not JSON: {err}") from None
        if not isinstance(body, dict):
            raise StudyError(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
        if action == "join":
            return study.join(name, str(body.get("name", "")))
        if action == "calibrated":
            return study.calibrated(name, str(body.get("rater", "")))
        return study.rate(name, str(body.get("rater", "")), str(body.get("item", "")), body.get("score"))

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")


class MOSServer(ThreadingHTTPServer):
    def __init__(self, db: Path, port: int) -> None:
        self.study = Study(db)
        super().__init__(("127.0.0.1", port), Handler)


def run_serve(args: argparse.Namespace) -> None:
    server = MOSServer(args.db, args.port)
    port = server.server_address[1]
    print(f"serving {args.db} on http://127.0.0.1:{port}/ ({', '.join(server.study.studies()) or 'no studies yet'}); "
          "Ctrl-C stops, and `srlab mos serve` again resumes", flush=True)  # fmt: skip
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped; every rating given is in the database")
    finally:
        server.server_close()


# --- the summary -------------------------------------------------------------------------------------
def summary(db: Path, study: str | None = None) -> dict[str, dict]:
    """Per study: MOS per method (mean, std, count, 95% interval by Student's t) and per rater."""
    with closing(connect(db)) as con:
        names = [r[0] for r in con.execute("SELECT name FROM studies ORDER BY name")]
        if study is not None and study not in names:
            raise ValueError(f"--study {study}: {db} holds no such study; it holds: {', '.join(names) or 'none'}")
        out = {}
        for name in [study] if study else names:
            rows = con.execute(
                "SELECT r.name, r.calibrated, i.method, g.score FROM ratings g JOIN raters r ON g.rater_id = r.id "
                "JOIN items i ON g.item_id = i.id JOIN studies s ON i.study_id = s.id WHERE s.name = ? ORDER BY g.id",
                (name,),
            ).fetchall()
            total = con.execute("SELECT COUNT(*) FROM items i JOIN studies s ON i.study_id = s.id "
                                "WHERE s.name = ? AND kind = 'rated'", (name,)).fetchone()[0]  # fmt: skip
            raters = con.execute("SELECT r.name, r.calibrated FROM raters r JOIN studies s ON r.study_id = s.id "
                                 "WHERE s.name = ? ORDER BY r.id", (name,)).fetchall()  # fmt: skip
            by_method, by_rater = defaultdict(list), defaultdict(lambda: defaultdict(list))
            for rater, _, method, score in rows:
                by_method[method].append(score)
                by_rater[rater][method].append(score)
            methods = {m: vars(mean_opinion_score(v)) for m, v in by_method.items()}
            methods = dict(sorted(methods.items(), key=lambda kv: -kv[1]["mean"]))
            per_rater = {}
            for rater, calibrated in raters:
                scores = [s for v in by_rater[rater].values() for s in v]
                per_rater[rater] = {
                    "calibrated": calibrated is not None, "rated": len(scores), "of": total,
                    "mean": statistics.fmean(scores) if scores else None,
                    "methods": {m: statistics.fmean(v) for m, v in by_rater[rater].items()},
                }  # fmt: skip
            out[name] = {"methods": methods, "raters": per_rater, "images_to_rate": total}
    return out


def run_summary(args: argparse.Namespace) -> None:
    result = summary(args.db, args.study)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, study in result.items():
        print(f"study {name}: {study['images_to_rate']} images to rate per rater\n")
        print("| method | MOS | 95% interval (Student's t) | std | ratings |\n|---|---|---|---|---|")
        for method, m in study["methods"].items():
            interval = "-" if m["count"] < 2 else f"{m['mean'] - m['half_width']:.2f} - {m['mean'] + m['half_width']:.2f}"
            std = "-" if m["count"] < 2 else f"{m['std']:.2f}"
            print(f"| {method} | {m['mean']:.2f} | {interval} | {std} | {m['count']} |")
        print("\n| rater | calibrated | rated | mean score | per method |\n|---|---|---|---|---|")
        for rater, r in study["raters"].items():
            per = ", ".join(f"{m} {v:.2f}" for m, v in r["methods"].items()) or "-"
            mean = "-" if r["mean"] is None else f"{r['mean']:.2f}"
            print(f"| {rater} | {'yes' if r['calibrated'] else 'no'} | {r['rated']} / {r['of']} | {mean} | {per} |")
        print()
