"""Downloads from a local HTTP server on 127.0.0.1 (resume, checksums, offline errors) and safe unpacking."""

import hashlib
import io
import tarfile
import zipfile

import pytest

from conftest import closed_port_url, photo_crops, write_images
from srlab.data.download import ChecksumError, DownloadError, UnsafeArchiveError, download, extract


def make_archive(kind: str, members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pngs(tmp_path_factory) -> dict[str, bytes]:
    folder = write_images(tmp_path_factory.mktemp("pngs"), photo_crops([(20, 24), (18, 30), (25, 25)]))
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_download_checks_hash_and_unpacks_a_folder(kind, pngs, server, tmp_path):
    members = {f"set/HR/{name}": data for name, data in pngs.items()} | {"set/LR/x.png": b"not wanted"}
    body = make_archive(kind, members)
    url = server.serve(f"set.{kind}", body)
    file = download(url, tmp_path / "downloads", sha256=hashlib.sha256(body).hexdigest())
    assert file == tmp_path / "downloads" / f"set.{kind}" and file.read_bytes() == body
    assert not file.with_name(file.name + ".part").exists()

    extract(file, {"set/HR": tmp_path / "Set"})
    assert {p.name: p.read_bytes() for p in (tmp_path / "Set").iterdir()} == pngs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Set", "downloads"]  # no LR, no staging folder left
    assert download(url, tmp_path / "downloads") == file and len(server.httpd.requests) == 1  # already there


@pytest.mark.parametrize("ranges", [True, False], ids=["range", "range-ignored"])
def test_download_resumes_a_partial_file(ranges, server, tmp_path):
    body = bytes(range(256)) * 400
    url = server.serve("big.bin", body)
    server.httpd.ranges = ranges
    (tmp_path / "big.bin.part").write_bytes(body[:30000])
    file = download(url, tmp_path, md5=hashlib.md5(body).hexdigest())
    assert file.read_bytes() == body
    assert server.httpd.requests == ["bytes=30000-"]


def test_download_keeps_a_complete_part_when_nothing_is_left(server, tmp_path):
    body = b"complete" * 100
    url = server.serve("done.bin", body)
    (tmp_path / "done.bin.part").write_bytes(body)  # a run stopped between download and check
    assert download(url, tmp_path, sha256=hashlib.sha256(body).hexdigest()).read_bytes() == body


def test_download_logs_the_sha256_when_none_is_published(server, tmp_path, caplog):
    body = b"no checksum anywhere"
    download(server.serve("plain.bin", body), tmp_path)
    assert hashlib.sha256(body).hexdigest() in caplog.text


def test_checksum_mismatch_names_file_and_hashes_and_keeps_the_file(server, tmp_path):
    body = b"corrupted in transit"
    url = server.serve("data.zip", body)
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as failure:
        download(url, tmp_path, sha256=wrong)
    message = str(failure.value)
    assert "data.zip" in message and wrong in message and hashlib.sha256(body).hexdigest() in message
    assert not (tmp_path / "data.zip").exists() and not (tmp_path / "data.zip.part").exists()
    assert (tmp_path / "data.zip.corrupt").read_bytes() == body


def test_offline_error_names_url_and_folder(tmp_path):
    url = closed_port_url("T91.zip")
    with pytest.raises(DownloadError) as failure:
        download(url, tmp_path / "downloads", hint=f"; or put the 91 images into {tmp_path / 'T91'}")
    message = str(failure.value)
    assert url in message and str(tmp_path / "downloads" / "T91.zip") in message and str(tmp_path / "T91") in message
    assert failure.value.__cause__ is None and failure.value.__suppress_context__  # one error, not a chain


def test_server_errors_and_web_pages_are_download_errors(server, tmp_path):
    with pytest.raises(DownloadError, match=r"HTTP 404"):
        download(server.url("missing.zip"), tmp_path)
    with pytest.raises(DownloadError, match="web page"):
        download(server.serve("drive.zip", b"<html>sign in</html>", "text/html; charset=utf-8"), tmp_path)
    assert not (tmp_path / "drive.zip").exists()


def tar_with(*members: tarfile.TarInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        good = tarfile.TarInfo("inside/ok.txt")
        good.size = 2
        tf.addfile(good, io.BytesIO(b"ok"))  # written first: unpacked before the bad member is met
        for info in members:
            tf.addfile(info, io.BytesIO(b"evil"[: info.size]))
    return buffer.getvalue()


def file_info(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 4
    return info


def link_info(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def zip_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("inside/ok.txt", b"ok")
        zf.writestr(zipfile.ZipInfo(name), b"evil")
    return buffer.getvalue()


MALICIOUS = {
    "tar-dotdot": lambda root: tar_with(file_info("inside/../../evil.txt")),
    "tar-absolute": lambda root: tar_with(file_info(str(root / "evil.txt"))),
    "tar-symlink-out": lambda root: tar_with(link_info("inside/link", "../..")),
    "tar-absolute-symlink": lambda root: tar_with(link_info("inside/link", str(root))),
    "tar-through-symlink": lambda root: tar_with(link_info("inside/up", ".."), link_info("inside/up/out", "..")),
    # `a` points inside while `b` is missing, outside once `b` -> ".." exists
    "tar-retargeted-symlink": lambda root: tar_with(
        link_info("inside/a", "b/../.."), link_info("inside/b", ".."), file_info("inside/a/evil.txt")
    ),
    "zip-dotdot": lambda root: zip_with("../evil.txt"),
    "zip-absolute": lambda root: zip_with(str(root / "evil.txt")),
}


@pytest.mark.parametrize("case", MALICIOUS)
def test_malicious_archives_are_refused_and_write_nothing_outside(case, tmp_path):
    root = tmp_path / "data"  # the archive unpacks under root; tmp_path is "outside" too
    root.mkdir()
    archive = tmp_path / ("bad.zip" if case.startswith("zip") else "bad.tar")
    archive.write_bytes(MALICIOUS[case](tmp_path))
    with pytest.raises(UnsafeArchiveError, match="bad"):
        extract(archive, {"inside": root / "Inside"})
    assert list(root.iterdir()) == []  # no destination, no staging folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar" if "tar" in case else "bad.zip", "data"]


def test_extract_refuses_an_existing_destination_and_names_a_missing_folder(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_with("inside/other.txt"))
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="taken"):
        extract(archive, {"inside": tmp_path / "taken"})
    with pytest.raises(FileNotFoundError, match="'nowhere'.*inside"):
        extract(archive, {"nowhere": tmp_path / "new"})
    assert not (tmp_path / "new").exists()
    extract(archive, {"": tmp_path / "all"})  # the whole archive
    assert sorted(p.name for p in (tmp_path / "all" / "inside").iterdir()) == ["ok.txt", "other.txt"]


def test_extract_keeps_links_that_stay_inside(tmp_path):
    archive = tmp_path / "links.tar"
    archive.write_bytes(tar_with(link_info("inside/again.txt", "ok.txt")))
    extract(archive, {"inside": tmp_path / "out"})
    assert (tmp_path / "out" / "again.txt").is_symlink() and (tmp_path / "out" / "again.txt").read_bytes() == b"ok"
