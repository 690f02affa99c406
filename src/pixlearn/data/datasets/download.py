"""Download data-set files safely: checksum verified, never a half-written file, with progress.

A download streams into a temporary file next to the destination (``.<name>.<random>.part``),
hashing as it goes; only when the whole file has arrived *and* its checksum matches is it renamed
onto the destination (``os.replace``, atomic on one file system). An interrupted or corrupted
download therefore leaves no file under the final name, and running again starts cleanly. Each
file may list several mirrors, tried in order. ``file://`` URLs work too (that is how the tests,
which have no network, exercise this code).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from pixlearn._core.check import check_choice
from pixlearn._core.errors import DataFormatError

__all__ = ["ChecksumError", "DownloadError", "download_file", "file_digest"]

_CHUNK = 1 << 16


class ChecksumError(DataFormatError):
    """A downloaded or existing file does not have the expected checksum; names the file."""


class DownloadError(OSError):
    """No mirror of a file could be downloaded; the message names the file and every URL tried."""


def file_digest(path: str | os.PathLike[str], algorithm: str = "md5") -> str:
    """The hex digest of a file, read in chunks.

    Args:
        path: the file.
        algorithm: ``"md5"`` (what the MNIST and CIFAR authors publish) or ``"sha256"``.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = f.write_bytes(b"abc")
        >>> file_digest(f)
        '900150983cd24fb0d6963f7d28e17f72'
    """
    check_choice(algorithm, "algorithm", ("md5", "sha256"))
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_one(url: str, dest: Path, checksum: str | None, algorithm: str, progress: bool) -> None:
    """Stream ``url`` into a temporary file beside ``dest``, verify, then rename onto ``dest``."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.new(algorithm)
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=60) as response,
            _progress_bar(progress, dest.name, response) as advance,
        ):
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
                advance(len(chunk))
        got = digest.hexdigest()
        if checksum is not None and got != checksum.lower():
            raise ChecksumError(
                f"the file downloaded from {url!r} for {str(dest)!r} has {algorithm} {got}, "
                f"expected {checksum.lower()} (a corrupt or changed download; nothing was kept)"
            )
        os.replace(tmp, dest)  # atomic: dest is either absent or complete
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def _progress_bar(enabled: bool, name: str, response: object):  # type: ignore[no-untyped-def]
    """Yield ``advance(n_bytes)``; a rich progress bar on the console when ``enabled``."""
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    length = getattr(response, "headers", {}).get("Content-Length")
    total = int(length) if length and str(length).isdigit() else None
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, TransferSpeedColumn(), transient=True) as bar:
        task = bar.add_task(f"download {name}", total=total)
        yield lambda n: bar.advance(task, n)


def download_file(
    urls: str | Sequence[str],
    dest: str | os.PathLike[str],
    *,
    checksum: str | None = None,
    algorithm: str = "md5",
    progress: bool = True,
) -> Path:
    """Download one file from the first mirror that works, verified and written atomically.

    A ``dest`` that already exists with the right checksum is kept and nothing is downloaded;
    one with a wrong checksum is downloaded again (and replaced only if the new copy is good).

    Args:
        urls: one URL or mirrors tried in order (``https://``, ``http://``, ``file://``).
        dest: the final path; its folder is created.
        checksum: the expected hex digest, or ``None`` to skip verification.
        algorithm: ``"md5"`` or ``"sha256"``.
        progress: show a progress bar.

    Returns:
        ``dest`` as a ``Path``.

    Raises:
        ChecksumError: the file from every mirror has the wrong checksum (no file is left).
        DownloadError: no mirror could be reached; the message lists the URLs and errors.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "src.bin").write_bytes(b"abc")
        >>> out = download_file((d / "src.bin").as_uri(), d / "copy.bin",
        ...                     checksum="900150983cd24fb0d6963f7d28e17f72", progress=False)
        >>> out.read_bytes()
        b'abc'
    """
    check_choice(algorithm, "algorithm", ("md5", "sha256"))
    mirrors = [urls] if isinstance(urls, str) else list(urls)
    if not mirrors:
        raise DownloadError(f"no URL given for {str(dest)!r}")
    dest = Path(dest)
    if dest.is_file() and (checksum is None or file_digest(dest, algorithm) == checksum.lower()):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    checksum_error: ChecksumError | None = None
    for url in mirrors:
        try:
            _fetch_one(url, dest, checksum, algorithm, progress)
            return dest
        except ChecksumError as err:
            checksum_error = err
            failures.append(f"{url}: {err}")
        except (urllib.error.URLError, OSError, ValueError) as err:
            failures.append(f"{url}: {err}")
    if checksum_error is not None and len(failures) == 1:
        raise checksum_error
    if checksum_error is not None:
        raise ChecksumError(f"no mirror gave a good copy of {str(dest)!r}: " + "; ".join(failures))
    raise DownloadError(f"cannot download {str(dest)!r}; tried " + "; ".join(failures))
