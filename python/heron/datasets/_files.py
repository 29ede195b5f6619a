"""Finding dataset files on disk and downloading missing ones with checksum verification.

Files are looked for in the directory given to the dataset (or ``$HERON_DATA`` when none is
given), in a few conventional sub-directories of it, and in ``~/.cache/heron/<name>``, where
downloads go. A download is written to a temporary file, checked against its published
SHA-256 or MD5 and only then moved into place, so a partial or tampered file is never used.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request

DOWNLOAD_TIMEOUT_S = 30


class DatasetNotFoundError(RuntimeError, FileNotFoundError):
    """A dataset's files are neither on disk nor downloadable; the message says what to do."""


def cache_dir(name: str) -> str:
    """``~/.cache/heron/<name>`` (``$XDG_CACHE_HOME`` is honoured)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "heron", name)


def search_dirs(root, name: str, subdirs) -> list[str]:
    """Directories to look in: ``root`` (or $HERON_DATA) and ``subdirs`` below it, then the cache."""
    base = root if root is not None else os.environ.get("HERON_DATA")
    dirs = []
    if base:
        base = os.path.expanduser(os.fspath(base))
        dirs = [base] + [os.path.join(base, sub) for sub in subdirs]
    return dirs + [cache_dir(name)]


def find_file(dirs, candidate_names) -> str | None:
    for directory in dirs:
        for file_name in candidate_names:
            path = os.path.join(directory, file_name)
            if os.path.isfile(path):
                return path
    return None


def file_digest(path: str, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(file_name: str, mirrors, destination_dir: str, *, sha256: str | None = None,
             md5: str | None = None) -> str:
    """Fetches ``file_name`` from the first mirror that serves it with the expected checksum;
    returns its path in ``destination_dir``. Raises OSError listing what each mirror did."""
    os.makedirs(destination_dir, exist_ok=True)
    destination = os.path.join(destination_dir, file_name)
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + file_name
        fd, temp_path = tempfile.mkstemp(dir=destination_dir, prefix="." + file_name + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
            for algorithm, expected in (("sha256", sha256), ("md5", md5)):
                if expected and file_digest(temp_path, algorithm) != expected:
                    raise OSError(f"{algorithm} checksum mismatch (expected {expected})")
            os.replace(temp_path, destination)
            return destination
        except Exception as e:  # try the next mirror, remembering why this one failed
            failures.append(f"{url}: {e}")
        finally:
            if os.path.exists(temp_path):
                os.unlink(temp_path)
    raise OSError("; ".join(failures) or "no mirrors configured")


def locate_or_download(dataset: str, root, subdirs, file_name: str, alternative_names, mirrors, *,
                       download_allowed: bool, sha256: str | None = None, md5: str | None = None) -> str:
    """The path of ``file_name`` (or one of ``alternative_names``) on disk, downloading it into
    the cache when it is missing and ``download_allowed``."""
    dirs = search_dirs(root, dataset.lower(), subdirs)
    found = find_file(dirs, [file_name, *alternative_names])
    if found is not None:
        return found
    reason = "downloading is disabled (download=False)"
    if download_allowed:
        try:
            return download(file_name, mirrors, cache_dir(dataset.lower()), sha256=sha256, md5=md5)
        except OSError as e:
            reason = f"the download failed: {e}"
    raise DatasetNotFoundError(
        f"{dataset}: {file_name} was not found in {', '.join(dirs)} and {reason}. Put the file (from "
        f"{mirrors[0]}) in one of those directories, pass the directory that holds it as root=..., or set the "
        "HERON_DATA environment variable to it.")
