"""Downloading files and unpacking archives: resumable, checksummed, all or nothing. Standard library only.

`download` writes `<name>.part`, resumes it with an HTTP Range request on the next try, checks the
SHA-256 / MD5 when one is known, and only then renames it to `<name>`: a file with its final name is
complete. `extract` unpacks folders of a zip or tar archive into a staging folder next to their
destinations and renames each into place when every file is out, refusing any member that would
land outside (absolute paths, `..`, links pointing out).
"""

import hashlib
import http.client
import os
import shutil
import stat
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

CHUNK = 1 << 20
USER_AGENT = "srlab-download/0.1 (Python urllib)"

console = Console()


class DownloadError(OSError):
    """A file could not be fetched: offline, a server error, or a web page instead of the file."""


class ChecksumError(ValueError):
    """A downloaded file does not match its published checksum (the file is kept aside)."""


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the folder the archive is unpacked into."""


def _byte_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def download(
    url: str,
    folder: str | Path,
    *,
    filename: str | None = None,
    sha256: str | None = None,
    md5: str | None = None,
    hint: str = "",
    timeout: float = 60.0,
) -> Path:
    """Download `url` into `folder` and return the file; a no-op when the file is already there.

    Args:
        filename: the name to save under; by default the last part of the URL's path.
        sha256, md5: published checksums (hex). Without either, the SHA-256 is printed so it can be pinned.
        hint: what else the user can do by hand, added to the error when the download fails.
    """
    dest = Path(folder) / (filename or PurePosixPath(urllib.parse.urlparse(url).path).name)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        _fetch(url, part, timeout)
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, DownloadError) as err:
        if isinstance(err, urllib.error.HTTPError):
            reason = f"HTTP {err.code} {err.reason}"
        else:
            reason = err.reason if isinstance(err, urllib.error.URLError) else err
        kept = f"\nThe partial download {part} is kept; the next try resumes it." if part.exists() else ""
        raise DownloadError(
            f"could not download {url}: {reason}\n"
            f"Fetch it by hand and save it as {dest} (it is checked and unpacked on the next run){hint}.{kept}"
        ) from None
    _check(part, dest, url, sha256, md5)
    part.replace(dest)
    return dest


def _fetch(url: str, part: Path, timeout: float) -> None:
    """Download `url` into `part`, continuing a partial file when the server allows it."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT} | ({"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code != 416 or not offset:  # 416: nothing lies past `offset`
            raise
        if err.headers.get("Content-Range", "") == f"bytes */{offset}":
            return  # the .part is the whole file (a run stopped before checking it)
        part.unlink()  # longer than the file: not a prefix of it
        return _fetch(url, part, timeout)
    with response:
        if response.headers.get_content_type() == "text/html" and not url.endswith((".html", ".htm")):
            raise DownloadError("the server sent a web page, not the file (a sign-in or confirmation page?)")
        if response.status == 206:
            if not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                raise DownloadError(f"asked for bytes {offset}- and got {response.headers.get('Content-Range')}")
            mode = "ab"
        else:  # 200: the server ignored the Range header and sends the whole file
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with _byte_progress() as progress, open(part, mode) as f:
            task = progress.add_task(f"Downloading {part.name.removesuffix('.part')}", total=total, completed=offset)
            while chunk := response.read(CHUNK):
                f.write(chunk)
                progress.advance(task, len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(f"the connection closed after {size} of {total} bytes")


def _check(part: Path, dest: Path, url: str, sha256: str | None, md5: str | None) -> None:
    """Compare `part` with the published checksums; on a mismatch keep it aside as `<name>.corrupt`."""
    hashes = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False)}
    with _byte_progress() as progress, open(part, "rb") as f:
        task = progress.add_task(f"Checking {dest.name}", total=part.stat().st_size)
        while chunk := f.read(CHUNK):
            for h in hashes.values():
                h.update(chunk)
            progress.advance(task, len(chunk))
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        actual = hashes[algorithm].hexdigest()
        if expected is not None and actual != expected.lower():
            corrupt = dest.with_name(dest.name + ".corrupt")
            part.replace(corrupt)
            raise ChecksumError(
                f"{dest.name} from {url} has {algorithm.upper()} {actual}, expected {expected}. "
                f"It is kept as {corrupt}: delete it to download again, or check it and rename it to {dest.name}."
            )
    if sha256 is None and md5 is None:
        console.print(
            f"{dest.name} has no published checksum; its SHA-256 is {hashes['sha256'].hexdigest()} "
            "(pin it in srlab/data/catalog.py)",
            style="yellow",
            markup=False,
        )


def extract(archive: str | Path, folders: Mapping[str, str | Path]) -> None:
    """Unpack folders of a zip or tar(.gz/.bz2/.xz) archive: `{folder inside: destination}`.

    The inside folder `""` is the whole archive. Members are unpacked into a staging folder beside the
    destinations, and each destination is renamed into place only once every member is out, so an
    interrupted run leaves no destination half-filled. Destinations must not exist yet.
    Raises `UnsafeArchiveError` for any member that would land outside (checked for every member,
    unpacked or not), before anything is placed.
    """
    archive = Path(archive)
    wanted = {PurePosixPath(inside): Path(dest) for inside, dest in folders.items()}
    for dest in wanted.values():
        if dest.exists():
            raise FileExistsError(f"{dest} already exists; remove it to unpack {archive.name} again")
    parent = Path(os.path.commonpath([dest.parent.absolute() for dest in wanted.values()]))
    staging = parent / f".{archive.name}.extracting"
    shutil.rmtree(staging, ignore_errors=True)  # left behind by an interrupted run
    staging.mkdir(parents=True)
    try:
        top = _unpack(archive, staging, lambda path: any(path == w or w in path.parents for w in wanted))
        for inside, dest in wanted.items():
            source = staging.joinpath(*inside.parts)
            if not source.is_dir():
                raise FileNotFoundError(f"{archive} has no folder {inside.as_posix()!r} (its top level: {sorted(top)})")
            dest.parent.mkdir(parents=True, exist_ok=True)
            source.replace(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack(archive: Path, root: Path, selected: Callable[[PurePosixPath], bool]) -> set[str]:
    """Write the members of `archive` for which `selected(path)` holds under `root`; check every member.

    Returns the names at the archive's top level.
    """
    top = set()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf, _count_progress() as progress:
            for info in progress.track(zf.infolist(), description=f"Unpacking {archive.name}"):
                target, path = _target(root, info.filename, archive)
                top.update(path.parts[:1])
                if stat.S_ISLNK(info.external_attr >> 16):
                    _link(root, target, zf.read(info).decode(), info.filename, archive, selected(path))
                elif selected(path):
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                    else:
                        _write(target, zf.open(info))
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tf, _count_progress() as progress:
            for member in progress.track(tf, description=f"Unpacking {archive.name}"):
                target, path = _target(root, member.name, archive)
                top.update(path.parts[:1])
                if member.issym():
                    _link(root, target, member.linkname, member.name, archive, selected(path))
                elif member.islnk():  # a hard link: a copy of a member unpacked before
                    _target(root, member.linkname, archive)
                    if selected(path):
                        _write(target, tf.extractfile(member))
                elif member.isdir():
                    if selected(path):
                        target.mkdir(parents=True, exist_ok=True)
                elif member.isreg():
                    if selected(path):
                        _write(target, tf.extractfile(member))
                else:
                    raise UnsafeArchiveError(f"{archive} holds {member.name!r}, a device or pipe; refusing it")
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
    return top


def _count_progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console)


def _inside(path: Path, root: Path) -> bool:
    # realpath follows links unpacked so far, so a path through one of them is judged where it leads
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _target(root: Path, name: str, archive: Path) -> tuple[Path, PurePosixPath]:
    """Where member `name` goes under `root`; refuse absolute paths, `..` and paths through outward links."""
    path = PurePosixPath(name.replace("\\", "/"))
    if not path.parts:  # the archive's top folder itself, "./"
        return root, path
    target = root.joinpath(*path.parts)
    if path.is_absolute() or ".." in path.parts or ":" in path.parts[0] or not _inside(target.parent, root):
        raise UnsafeArchiveError(f"{archive} holds {name!r}, which points outside the folder it unpacks into")
    return target, path


def _link(root: Path, target: Path, link_to: str, name: str, archive: Path, write: bool) -> None:
    if os.path.isabs(link_to) or not _inside(target.parent / link_to, root):
        raise UnsafeArchiveError(f"{archive} holds a link {name!r} -> {link_to!r} pointing outside its folder")
    if write:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link_to, target)


def _write(target: Path, source: IO[bytes]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with source, open(target, "wb") as f:
        shutil.copyfileobj(source, f, CHUNK)
