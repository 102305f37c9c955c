"""Downloading files and unpacking archives: resumable, checksummed, all or nothing. Standard library only.

`download` writes `<name>.part`, resumes it with an HTTP Range request on the next try, checks the
SHA-256 / MD5 when one is published, and only then renames it to `<name>`. A file already there under
its name (saved by hand, or by an earlier run) is checked the same way before it is used.

`extract` unpacks folders of a zip or tar archive. Each destination is unpacked into a staging folder
laid out exactly as the destination will be, so every member, and every link with whatever links it
passes through, is judged where it will end up; the folders are renamed into place only when every
member is out and checked.
"""

import gzip
import hashlib
import http.client
import logging
import lzma
import os
import shutil
import stat
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any, NamedTuple

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
MAX_LINK_HOPS = 40  # as Linux: more links in a row than this is a loop
REFUSED = "nothing is unpacked: this is not the published archive, delete it and fetch it again"

console = Console()
log = logging.getLogger(__name__)


class DownloadError(OSError):
    """A file could not be fetched: offline, a server error, or a web page instead of the file."""


class ChecksumError(ValueError):
    """A file does not match its published checksum (the file is kept aside)."""


class UnsafeArchiveError(ValueError):
    """An archive member that would be written, or would lead, outside the folder it is unpacked into."""


class BadArchiveError(ValueError):
    """An archive that cannot be read to its end: truncated, damaged, or neither a zip nor a tar file."""


def _byte_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def download(url: str, folder: str | Path, **options: Any) -> Path:
    """`download_checked` (same arguments) for when only the file is wanted."""
    return download_checked(url, folder, **options)[0]


def download_checked(
    url: str,
    folder: str | Path,
    *,
    filename: str | None = None,
    sha256: str | None = None,
    md5: str | None = None,
    hint: str = "",
    timeout: float = 60.0,
) -> tuple[Path, str]:
    """Download `url` into `folder` unless the file is there; check it; return it and its SHA-256.

    Args:
        filename: the name to save under; by default the last part of the URL's path.
        sha256, md5: published checksums (hex). Without either, the SHA-256 is printed so it can be pinned.
        hint: what else the user can do by hand, added to the error when the download fails.
    """
    dest = Path(folder) / (filename or PurePosixPath(urllib.parse.urlparse(url).path).name)
    if dest.is_file():
        return dest, _verify(dest, dest, "", sha256, md5)
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
        published = " and ".join(name for name, value in (("SHA-256", sha256), ("MD5", md5)) if value)
        then = f"checks its published {published} and uses it" if published else "uses it (no checksum is published)"
        raise DownloadError(
            f"could not download {url}: {reason}\nFetch it by hand and save it as {dest}; the next run {then}{hint}.{kept}"
        ) from None
    digest = _verify(part, dest, url, sha256, md5)
    part.replace(dest)
    return dest, digest


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


def _verify(file: Path, dest: Path, url: str, sha256: str | None, md5: str | None) -> str:
    """Compare `file` (bound for `dest`) with the published checksums and return its SHA-256.

    On a mismatch the file is moved aside to `<dest>.corrupt`, so that the next run fetches it again.
    """
    hashes = {"sha256": hashlib.sha256()} | ({"md5": hashlib.md5(usedforsecurity=False)} if md5 else {})
    with _byte_progress() as progress, open(file, "rb") as f:
        task = progress.add_task(f"Checking {dest.name}", total=file.stat().st_size)
        while chunk := f.read(CHUNK):
            for h in hashes.values():
                h.update(chunk)
            progress.advance(task, len(chunk))
    for algorithm, label, expected in (("sha256", "SHA-256", sha256), ("md5", "MD5", md5)):
        actual = hashes[algorithm].hexdigest() if expected else None
        if actual is not None and actual != expected.lower():
            corrupt = dest.with_name(dest.name + ".corrupt")
            file.replace(corrupt)
            origin = f"downloaded from {url}" if url else "found there (saved by hand, or by an earlier run)"
            raise ChecksumError(
                f"{dest}, {origin}, has {label} {actual}, not the published {expected}: it is moved "
                f"aside to {corrupt}; run again to download it anew, or save the published file as {dest}"
            )
    if sha256 is None and md5 is None:
        log.warning(
            "%s has no published checksum; its SHA-256 is %s (pin it in srlab/data/catalog.py)",
            dest.name,
            hashes["sha256"].hexdigest(),
        )
    return hashes["sha256"].hexdigest()


class _Member(NamedTuple):
    """An archive member, zip or tar alike: `kind` is "dir", "file", "symlink" or "hardlink"."""

    name: str
    kind: str
    link: str = ""  # a symlink's target, or the member a hard link repeats
    open: Callable[[], IO[bytes]] | None = None


def extract(
    archive: str | Path,
    folders: Mapping[str, str | Path],
    verify: Callable[[Path, Path], None] | None = None,
) -> None:
    """Unpack folders of a zip or tar(.gz/.bz2/.xz) archive: `{folder inside: destination}`.

    The inside folder `""` is the whole archive. Destinations must not exist yet; each is renamed into
    place only once every member is out and checked, so a failed or interrupted run places none.
    `verify(unpacked, destination)` is called for each folder before any is placed: it may add files,
    or raise to place nothing.

    Every member is checked, unpacked or not (`UnsafeArchiveError`): absolute paths, `..`, device files
    and pipes are refused, and so is any symbolic or hard link that leads outside the archive or,
    followed through the links it meets, outside its destination. Nothing is written through a link.
    A truncated or damaged archive raises `BadArchiveError`.
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
    # staging/<i> becomes destination i by a rename, so what is checked there is what will be there
    roots = {inside: staging / str(i) for i, inside in enumerate(wanted)}
    try:
        links, top = _unpack(archive, roots, staging / "archive")
        _check_links(archive, links, wanted)
        for inside, dest in wanted.items():
            if not roots[inside].is_dir():
                raise FileNotFoundError(f"{archive} has no folder {inside.as_posix()!r} (its top level: {sorted(top)})")
            if verify is not None:
                verify(roots[inside], dest)
        for inside, dest in wanted.items():
            dest.parent.mkdir(parents=True, exist_ok=True)
            roots[inside].replace(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _unpack(
    archive: Path, roots: Mapping[PurePosixPath, Path], whole: Path
) -> tuple[dict[PurePosixPath, str], set[str]]:
    """Write each member of `archive` into the root of every folder it lies in; check every member.

    `whole` is where the whole archive would be unpacked (never created): the data filter judges tar
    members against it. Returns the archive's symbolic links {path: target} and its top-level names.
    """
    links: dict[PurePosixPath, str] = {}
    top: set[str] = set()
    name = ""
    try:
        with _members(archive, whole) as members, _count_progress() as progress:
            for member in progress.track(members, description=f"Unpacking {archive.name}"):
                name = member.name
                path = _member_path(name, archive)
                top.update(path.parts[:1])
                if member.kind == "symlink":
                    links[path] = member.link
                for inside, root in roots.items():
                    if path == inside or inside in path.parents:
                        if member.kind == "hardlink" and inside not in _member_path(member.link, archive).parents:
                            raise UnsafeArchiveError(
                                f"{archive} holds the hard link {name!r} -> {member.link!r}, which leads outside "
                                f"the folder {inside.as_posix()!r} it is unpacked from; {REFUSED}"
                            )
                        _write(member, path.relative_to(inside), root, archive)
    except (tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error, lzma.LZMAError) as err:
        where = f"at {name!r}" if name else "from its start"
        raise BadArchiveError(
            f"{archive} is damaged or incomplete {where} ({err}): delete it and run again to download it, "
            "or save it again by hand"
        ) from None
    return links, top


@contextmanager
def _members(archive: Path, whole: Path) -> Iterator[Iterator[_Member]]:
    """The members of a zip or tar archive; tar members pass the standard library's data filter first."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            yield (_zip_member(zf, info, archive) for info in zf.infolist())
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tf:
            yield (_tar_member(tf, member, archive, whole) for member in tf)
    else:
        raise BadArchiveError(
            f"{archive} is neither a zip nor a tar archive, or is truncated: delete it and run again to "
            "download it, or save it again by hand"
        )


def _zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path) -> _Member:
    kind = stat.S_IFMT(info.external_attr >> 16)  # the Unix file type, when the zip records one (else 0)
    if kind == stat.S_IFLNK:
        return _Member(info.filename, "symlink", zf.read(info).decode())
    if info.is_dir() or kind == stat.S_IFDIR:
        return _Member(info.filename, "dir")
    if kind not in (0, stat.S_IFREG):
        raise UnsafeArchiveError(f"{archive} holds {info.filename!r}, a device file or pipe; {REFUSED}")
    return _Member(info.filename, "file", open=lambda: zf.open(info))


def _tar_member(tf: tarfile.TarFile, member: tarfile.TarInfo, archive: Path, whole: Path) -> _Member:
    """`member`, after the data filter has judged it as part of the whole archive unpacked into `whole`.

    The filter refuses device files, pipes and links that point out; `extract` still judges every
    member in the folder it ends up in, and links through the links they meet, which the filter does not.
    """
    try:
        tarfile.data_filter(member, str(whole))
    except tarfile.FilterError as err:
        raise UnsafeArchiveError(f"{archive} holds {member.name!r}: {err}; {REFUSED}") from None
    if member.issym():
        return _Member(member.name, "symlink", member.linkname)
    if member.isdir():
        return _Member(member.name, "dir")
    # a hard link is written as a copy of the member it repeats, read from the archive
    kind = "hardlink" if member.islnk() else "file"
    return _Member(member.name, kind, member.linkname if member.islnk() else "", lambda: _tar_data(tf, member, archive))


def _tar_data(tf: tarfile.TarFile, member: tarfile.TarInfo, archive: Path) -> IO[bytes]:
    try:
        data = tf.extractfile(member)
    except KeyError:  # a hard link to a member the archive does not hold before it
        data = None
    if data is None:  # or a hard link to a folder
        raise UnsafeArchiveError(
            f"{archive} holds the hard link {member.name!r} -> {member.linkname!r}, which is no file it holds "
            f"before it; {REFUSED}"
        )
    return data


def _count_progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console)


def _member_path(name: str, archive: Path) -> PurePosixPath:
    """The path of member `name` inside the archive; refuse absolute paths and `..`."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in "".join(path.parts[:1]):
        raise UnsafeArchiveError(f"{archive} holds {name!r}, an absolute path or one with '..'; {REFUSED}")
    return path


def _write(member: _Member, relative: PurePosixPath, root: Path, archive: Path) -> None:
    """Write `member` at `relative` under `root`, never through a link and never over another member."""
    for depth in range(1, len(relative.parts)):
        if root.joinpath(*relative.parts[:depth]).is_symlink():
            raise UnsafeArchiveError(
                f"{archive} holds {member.name!r}, which would be written through the link "
                f"{'/'.join(relative.parts[:depth])!r}; {REFUSED}"
            )
    if not relative.parts and member.kind != "dir":
        raise UnsafeArchiveError(f"{archive} holds {member.name!r}, a {member.kind} where a folder is; {REFUSED}")
    target = root.joinpath(*relative.parts)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if member.kind == "dir":
            target.mkdir(exist_ok=True)
        elif member.kind == "symlink":
            os.symlink(member.link, target)
        else:
            assert member.open is not None
            with member.open() as source, open(target, "xb") as f:  # "x": fails on anything there, links too
                shutil.copyfileobj(source, f, CHUNK)
    except FileExistsError:
        raise UnsafeArchiveError(
            f"{archive} holds {member.name!r} where another member already is; {REFUSED}"
        ) from None


def _check_links(archive: Path, links: Mapping[PurePosixPath, str], wanted: Mapping[PurePosixPath, Path]) -> None:
    """Refuse any link that leads outside the archive, or outside the destination its folder becomes."""
    for link, target in links.items():
        within = {PurePosixPath(): "the archive"} | {i: str(d) for i, d in wanted.items() if i in link.parents}
        for folder, where in within.items():
            if _leads_out(link, links, folder):
                raise UnsafeArchiveError(
                    f"{archive} holds the link {link.as_posix()!r} -> {target!r}, which leads outside {where} "
                    f"(or round in a loop); {REFUSED}"
                )


def _leads_out(link: PurePosixPath, links: Mapping[PurePosixPath, str], folder: PurePosixPath) -> bool:
    """Whether following `link`, and every link met on the way, ever steps out of `folder`.

    Paths are the archive's; this walks them as the system will once they are unpacked, one step at a
    time, so that `a -> b/../..` is judged with `b` a link too. A loop counts as leading out.
    """
    steps, at, hops = _link_steps(links[link]), list(link.parent.parts), 1
    while steps:
        step = steps.pop(0)
        if step == "..":
            if len(at) == len(folder.parts):
                return True
            at.pop()
            continue
        at.append(step)
        if (target := links.get(PurePosixPath(*at))) is not None:
            at.pop()
            hops += 1
            more = _link_steps(target)
            if more is None or hops > MAX_LINK_HOPS:
                return True
            steps = more + steps
    return steps is None


def _link_steps(target: str) -> list[str] | None:
    """The steps of a link's target, or None when it is absolute (`/x`, `C:\\x`)."""
    path = PurePosixPath(target.replace("\\", "/"))
    return None if path.is_absolute() or ":" in "".join(path.parts[:1]) else list(path.parts)
