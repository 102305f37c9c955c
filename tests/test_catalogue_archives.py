"""A catalogue of hostile, damaged and wrong archives: each is refused with one message naming the culprit.

Archives are made here in tmp_path; downloads come from the loopback server of conftest.py. The
first table calls `extract` and expects an exception; the tests below it go through
`python -m srlab.data.prepare` (its `main`) and expect exit status 1.
"""

import hashlib
import io
import stat
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import closed_port_url
from srlab.data import catalog
from srlab.data.catalog import DATA_SETS, MARKER, Archive
from srlab.data.download import BadArchiveError, UnsafeArchiveError, extract
from srlab.data.prepare import main

PNG = b"\x89PNG not decoded here: folders are counted, not read"


def tar_member(name: str, data: bytes = PNG, kind: bytes = tarfile.REGTYPE, link: str = "") -> tuple:
    return name, data, kind, link


def make_tar(members: list[tuple]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        for name, data, kind, link in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buffer.getvalue()


def make_zip(members: list[tuple]) -> bytes:
    """Zip members: (name, data, Unix file type); a link (S_IFLNK) stores its target as its data."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data, kind in members:
            info = zipfile.ZipInfo(name)
            info.create_system, info.external_attr = 3, (kind | 0o644) << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def symlink(name: str, target: str) -> tuple:
    return tar_member(name, b"", tarfile.SYMTYPE, target)


GOOD = tar_member("set/HR/ok.png")
SECRET = tar_member("set/secret.txt", b"inside the archive, outside the folder unpacked")


def cases(outside: Path) -> dict[str, tuple[bytes, type[Exception], str]]:
    """{case: (archive, the exception, the culprit its message names)}; `outside` lies outside data/.

    Each archive is unpacked as `extract(archive, {"set/HR": data/Set})`; a case's name starts with its format.
    """
    unsafe, two_pngs = UnsafeArchiveError, [tar_member("set/HR/a.png", b"a" * 1000), tar_member("set/HR/b.png")]
    hardlink = tarfile.LNKTYPE
    return {
        # in the staging folder it stays inside; renamed to data/Set, it leads out
        "tar-symlink-out-of-its-destination": (
            make_tar([GOOD, SECRET, symlink("set/HR/evil.png", "../secret.txt")]),
            unsafe,
            "set/HR/evil.png",
        ),
        "zip-symlink-out-of-its-destination": (
            make_zip([("set/HR/ok.png", PNG, 0), ("set/HR/evil.png", b"../secret.txt", stat.S_IFLNK)]),
            unsafe,
            "set/HR/evil.png",
        ),
        "tar-symlink-absolute": (
            make_tar([GOOD, symlink("set/HR/evil.png", str(outside / "secret.txt"))]),
            unsafe,
            "set/HR/evil.png",
        ),
        # `a` is judged before `X` exists; once X -> ".", a -> HR/../secret.txt
        "tar-symlink-through-a-later-symlink": (
            make_tar([GOOD, SECRET, symlink("set/HR/a", "X/../secret.txt"), symlink("set/HR/X", ".")]),
            unsafe,
            "set/HR/a",
        ),
        "zip-symlink-loop": (
            make_zip([("set/HR/a", b"b", stat.S_IFLNK), ("set/HR/b", b"a", stat.S_IFLNK)]),
            unsafe,
            "set/HR/a",
        ),
        "tar-member-written-through-a-symlink": (
            make_tar([GOOD, symlink("set/HR/up", ".."), tar_member("set/HR/up/evil.png")]),
            unsafe,
            "set/HR/up/evil.png",
        ),
        "tar-hardlink-out-of-its-destination": (
            make_tar([GOOD, SECRET, tar_member("set/HR/x.png", b"", hardlink, "set/secret.txt")]),
            unsafe,
            "set/HR/x.png",
        ),
        "tar-hardlink-absolute": (
            make_tar([GOOD, tar_member("set/HR/x.png", b"", hardlink, str(outside / "secret.txt"))]),
            unsafe,
            "set/HR/x.png",
        ),
        "tar-dotdot": (make_tar([GOOD, tar_member("set/HR/../../evil.png")]), unsafe, "set/HR/../../evil.png"),
        "zip-dotdot": (make_zip([("set/HR/../../evil.png", PNG, 0)]), unsafe, "set/HR/../../evil.png"),
        "tar-absolute": (make_tar([GOOD, tar_member(str(outside / "evil.png"))]), unsafe, str(outside / "evil.png")),
        "zip-absolute": (make_zip([(str(outside / "evil.png"), PNG, 0)]), unsafe, str(outside / "evil.png")),
        "tar-device": (
            make_tar([GOOD, tar_member("set/HR/null.png", b"", tarfile.CHRTYPE)]),
            unsafe,
            "set/HR/null.png",
        ),
        "tar-fifo": (make_tar([GOOD, tar_member("set/HR/pipe.png", b"", tarfile.FIFOTYPE)]), unsafe, "set/HR/pipe.png"),
        "zip-device": (make_zip([("set/HR/null.png", b"", stat.S_IFCHR)]), unsafe, "set/HR/null.png"),
        "zip-fifo": (make_zip([("set/HR/pipe.png", b"", stat.S_IFIFO)]), unsafe, "set/HR/pipe.png"),
        # b.png's data lies at bytes 2048-2101
        "tar-truncated-inside-a-member": (make_tar(two_pngs)[:2070], BadArchiveError, "set/HR/b.png"),
        "zip-truncated": (make_zip([("set/HR/a.png", PNG * 50, 0)])[:-30], BadArchiveError, "bad.zip"),
    }


@pytest.mark.parametrize("case", list(cases(Path("/outside"))))
def test_a_bad_archive_is_refused_naming_the_member_and_places_nothing(case, tmp_path):
    root = tmp_path / "data"  # unpacked under root; tmp_path is outside it
    root.mkdir()
    (tmp_path / "secret.txt").write_text("outside data/")
    body, error, culprit = cases(tmp_path)[case]
    archive = root / f"bad.{case[:3]}"
    archive.write_bytes(body)
    with pytest.raises(error) as failure:
        extract(archive, {"set/HR": root / "Set"})
    message = str(failure.value)
    assert culprit in message and str(archive) in message and "\n" not in message
    assert sorted(p.name for p in root.iterdir()) == [archive.name]  # no destination, no staging folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "secret.txt"]  # nothing written outside


def test_links_that_stay_inside_their_destination_are_kept(tmp_path):
    archive = tmp_path / "links.zip"
    archive.write_bytes(make_zip([("set/HR/a.png", PNG, 0), ("set/HR/again.png", b"a.png", stat.S_IFLNK)]))
    extract(archive, {"set/HR": tmp_path / "Set"})
    again = tmp_path / "Set" / "again.png"
    assert again.is_symlink() and again.read_bytes() == PNG


# --- through the data-set catalog and `python -m srlab.data.prepare` ----------------------------------
def set5_from(monkeypatch, archive: Archive) -> None:
    """Point the catalog's Set5 at `archive`."""
    data_set = DATA_SETS["set5"]
    monkeypatch.setitem(catalog.DATA_SETS, "set5", replace(data_set, folders=(replace(catalog.SET5, archive=archive),)))


def benchmark_tar(images: int = 5) -> list[tuple]:
    """Members of a stand-in for EDSR's benchmark.tar: `images` Set5 HR images, and LR copies not unpacked."""
    hr = [tar_member(f"benchmark/Set5/HR/img{i}.png", PNG + bytes([i])) for i in range(images)]
    return hr + [tar_member(f"benchmark/Set5/LR_bicubic/X2/img{i}.png") for i in range(images)]


def prepare_fails(root: Path, capsys) -> str:
    """Run `python -m srlab.data.prepare set5 --root root`, expect exit status 1, return its message."""
    with pytest.raises(SystemExit) as exit_:
        main(["set5", "--root", str(root)])
    assert exit_.value.code == 1
    return capsys.readouterr().err


def test_the_reported_symlink_out_of_data_is_refused(server, monkeypatch, tmp_path, capsys):
    """benchmark/Set5/HR/evil.png -> ../../../secret.txt is inside the archive, but data/Set5/evil.png
    would read a file two folders above data/."""
    body = make_tar([*benchmark_tar(), symlink("benchmark/Set5/HR/evil.png", "../../../secret.txt")])
    set5_from(monkeypatch, Archive(server.serve("benchmark.tar", body), md5=hashlib.md5(body).hexdigest()))
    root = tmp_path / "a" / "data"
    (tmp_path / "secret.txt").write_text("not for data/")
    message = prepare_fails(root, capsys)
    assert "'benchmark/Set5/HR/evil.png' -> '../../../secret.txt'" in message and str(root / "Set5") in message
    assert not (root / "Set5").exists()


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_a_truncated_archive_saved_by_hand_is_checked_against_its_published_checksum(
    kind, monkeypatch, tmp_path, capsys
):
    members = benchmark_tar()
    body = make_tar(members) if kind == "tar" else make_zip([(name, data, 0) for name, data, *_ in members])
    name = f"benchmark.{kind}"
    set5_from(monkeypatch, Archive(closed_port_url(name), sha256=hashlib.sha256(body).hexdigest()))
    root = tmp_path / "data"
    offline = prepare_fails(root, capsys)
    assert f"save it as {root / 'downloads' / name}; the next run checks its published SHA-256" in offline

    saved = root / "downloads" / name
    saved.write_bytes(body[: len(body) // 3])  # the browser stopped early
    message = prepare_fails(root, capsys)
    assert str(saved) in message and "SHA-256" in message and hashlib.sha256(body).hexdigest() in message
    assert not (root / "Set5").exists() and not saved.exists() and saved.with_name(name + ".corrupt").exists()


def test_a_downloaded_archive_with_the_wrong_checksum_is_refused(server, monkeypatch, tmp_path, capsys):
    body = make_tar(benchmark_tar())
    set5_from(monkeypatch, Archive(server.serve("benchmark.tar", body), md5="0" * 32))
    message = prepare_fails(tmp_path / "data", capsys)
    assert (
        "benchmark.tar" in message and f"MD5 {hashlib.md5(body).hexdigest()}, not the published {'0' * 32}" in message
    )
    assert not (tmp_path / "data" / "Set5").exists()


def test_a_truncated_archive_without_a_checksum_is_caught_by_its_image_count(server, monkeypatch, tmp_path, capsys):
    """Cut after its first member, a tar still reads: 1 image where Set5 has 5."""
    body = make_tar(benchmark_tar())
    first = 512 + 512  # one header and one block of data: a member boundary
    set5_from(monkeypatch, Archive(server.serve("benchmark.tar", body[:first])))
    message = prepare_fails(tmp_path / "data", capsys)
    assert "benchmark.tar gives Set5 the wrong number of images: 1, not 5" in message
    assert not (tmp_path / "data" / "Set5").exists()


def test_a_set_is_verified_once_and_a_later_change_is_noticed(server, monkeypatch, tmp_path, capsys):
    body = make_tar(benchmark_tar())
    set5_from(monkeypatch, Archive(server.serve("benchmark.tar", body), md5=hashlib.md5(body).hexdigest()))
    root = tmp_path / "data"
    main(["set5", "--root", str(root)])
    assert f"{hashlib.sha256(body).hexdigest()}" in (root / "Set5" / MARKER).read_text()
    capsys.readouterr()

    (root / "downloads" / "benchmark.tar").unlink()  # nothing to hash again, and nothing to fetch it from
    set5_from(monkeypatch, Archive(closed_port_url("benchmark.tar")))
    main(["set5", "--root", str(root)])
    assert "Ready" in capsys.readouterr().out

    (root / "Set5" / "img3.png").unlink()
    (root / "Set5" / "img1.png").write_bytes(b"edited")
    message = prepare_fails(root, capsys)
    assert f"{root / 'Set5'} changed since it was unpacked from benchmark.tar" in message
    assert "img1.png altered, img3.png missing" in message


def test_a_set_filled_by_hand_must_hold_its_known_number_of_images(monkeypatch, tmp_path, capsys):
    set5_from(monkeypatch, Archive(closed_port_url("benchmark.tar")))
    (tmp_path / "Set5").mkdir()
    (tmp_path / "Set5" / "baby.png").write_bytes(PNG)
    message = prepare_fails(tmp_path, capsys)
    assert f"{tmp_path / 'Set5'} has the wrong number of images for Set5: 1, not 5" in message
