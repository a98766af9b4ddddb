"""The one filesystem layer: every file the runner and the sinks read or write outside Spark's DataFrame I/O
(markers, stats, ledger, report, scratch, the run lock, tokenizer artifacts, token shards and manifests, input
listing) goes through :class:`Location`.

Why ``pyarrow.fs`` rather than Hadoop's FileSystem through the Spark JVM: shard writers and input readers run in
Python workers on the executors, where there is no py4j gateway, so a JVM-only layer would serve the driver alone
and leave the executors with a second implementation. ``pyarrow.fs`` is already a dependency (Arrow batches), is
the same code on driver and executors, and speaks local disk, HDFS (libhdfs), S3 and GCS natively with URIs.
Spark's own Parquet I/O keeps using Hadoop's FileSystem; :meth:`Location.spark_path` gives it the matching URI
(``s3://`` becomes ``s3a://``). A scheme is checked on both sides before anything is written
(:func:`check_scheme`, :func:`check_spark_scheme`), so a missing connector is one line naming the scheme and what
to install, never a folder literally named ``s3:``.

Plain paths and ``file://`` URIs are the same local location: both normalise to an absolute local path, so a run
written through ``file:///abs/out`` is byte-for-byte the run written to ``/abs/out``.

Rename: atomic on local disks and HDFS, a copy on object stores. :attr:`Location.atomic_rename` tells the runner
which commit protocol to use (rename into place, or an attempt folder named by a marker written last).
"""

from __future__ import annotations

import os
import shutil
import uuid
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit

from curator.errors import CuratorError


# What a scheme needs, on the Spark (Hadoop) side and on the Python (pyarrow) side.
_CONNECTORS = {
    "s3": "the hadoop-aws jar (plus its AWS SDK bundle) on the Spark classpath and s3a credentials "
          "(spark.hadoop.fs.s3a.access.key / secret.key, or an instance role)",
    "gs": "the gcs-connector jar on the Spark classpath and Google credentials "
          "(spark.hadoop.google.cloud.auth.service.account.json.keyfile, or workload identity)",
    "abfs": "the hadoop-azure jar on the Spark classpath and an account key or OAuth settings "
            "(spark.hadoop.fs.azure.account.key.<account>.dfs.core.windows.net)",
    "hdfs": "a Hadoop client on every node: HADOOP_HOME and CLASSPATH set so pyarrow can load libhdfs, and "
            "JAVA_HOME for libjvm",
    "memory": "fsspec (the dev extra); it lives in one process and Spark cannot use it",
}
_FAMILY = {"s3": "s3", "s3a": "s3", "s3n": "s3", "gs": "gs", "gcs": "gs", "abfs": "abfs", "abfss": "abfs",
           "hdfs": "hdfs", "viewfs": "hdfs",
           # fsspec's in-process store: behaves like an object store (no atomic rename, no real folders), so the
           # remote code paths (uploads, listings, attempt commits) run in tests without a service.
           "memory": "memory"}
# The scheme Hadoop registers for each family (what Spark's reader and writer are given).
_HADOOP_SCHEME = {"s3": "s3a", "gs": "gs", "abfs": "abfss", "hdfs": "hdfs", "memory": "memory"}


class UnsupportedSchemeError(CuratorError):
    """A path names a filesystem this session cannot open."""


def split_scheme(path: str) -> tuple[str | None, str]:
    """``("s3", "bucket/key")`` for a URI, ``(None, path)`` for a plain path (Windows drives are not schemes)."""
    text = str(path)
    head, sep, _ = text.partition("://")
    if sep and head.isalnum() and len(head) > 1:
        return head.lower(), text
    if text.startswith("file:"):
        return "file", text
    return None, text


def is_local(path: str | Path) -> bool:
    return split_scheme(str(path))[0] in (None, "file")


def local_path(path: str | Path) -> str:
    """The absolute local path of a plain path or a ``file:`` URI (``file:///a/b``, ``file:/a/b``)."""
    scheme, text = split_scheme(str(path))
    if scheme is None:
        return os.path.abspath(os.path.expanduser(text))
    if scheme != "file":
        raise UnsupportedSchemeError(f"{path} is not on the local filesystem")
    parts = urlsplit(text)
    if parts.netloc not in ("", "localhost"):
        raise UnsupportedSchemeError(f"{path}: a file:// URI names no host (use file:///absolute/path)")
    return os.path.abspath(unquote(parts.path))


def check_scheme(path: str | Path, what: str) -> None:
    """Raise one line when ``path`` names a scheme curator cannot write or read from Python on this machine."""
    scheme, _ = split_scheme(str(path))
    if scheme in (None, "file"):
        return
    family = _FAMILY.get(scheme)
    if family is None:
        raise UnsupportedSchemeError(
            f"{what} {path}: curator cannot open {scheme}:// paths (supported: local paths, file://, hdfs://, "
            "s3:// / s3a://, gs://, abfs[s]://, memory:// for tests)")
    try:
        _filesystem_for(str(path))
    except UnsupportedSchemeError:
        raise
    except Exception as error:  # pyarrow raises OSError / ArrowInvalid / ImportError with the native reason
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise UnsupportedSchemeError(f"{what} {path}: cannot open {scheme}:// from Python ({reason}); it needs "
                                     f"{_CONNECTORS[family]}") from None


def check_spark_scheme(spark, path: str | Path, what: str) -> None:
    """Raise one line when the Spark session has no Hadoop FileSystem for ``path``'s scheme (no connector jar).

    Asked once per run, on the driver, before the first stage writes (the JVM answers from its classpath; no I/O).
    """
    scheme, _ = split_scheme(str(path))
    if scheme in (None, "file"):
        return
    family = _FAMILY.get(scheme, scheme)
    hadoop_scheme = _HADOOP_SCHEME.get(family, scheme)
    jvm = spark.sparkContext._jvm
    try:
        jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass(hadoop_scheme,
                                                             spark.sparkContext._jsc.hadoopConfiguration())
    except Exception as error:  # py4j wraps the JVM's exception; its own message is the useful part
        java = getattr(error, "java_exception", None)
        first = str(java.getMessage()) if java is not None else (str(error).strip().splitlines() or [""])[0]
        reason = first[:160] or type(error).__name__
        raise UnsupportedSchemeError(f"{what} {path}: Spark has no filesystem for {hadoop_scheme}:// ({reason}); it "
                                     f"needs {_CONNECTORS.get(family, 'a Hadoop connector for that scheme')}") from None


def _filesystem_for(uri: str):
    """A pyarrow filesystem and the path inside it for a non-local URI. Built without network calls (pyarrow's
    ``FileSystem.from_uri`` would look up an S3 bucket's region over the network)."""
    import pyarrow.fs as pafs

    scheme, _ = split_scheme(uri)
    family = _FAMILY[scheme]
    parts = urlsplit(uri)
    key = f"{parts.netloc}{parts.path}".rstrip("/")
    if family == "s3":
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        return pafs.S3FileSystem(region=region, endpoint_override=endpoint), key
    if family == "gs":
        return pafs.GcsFileSystem(), key
    if family == "memory":
        from fsspec.implementations.memory import MemoryFileSystem

        return pafs.PyFileSystem(pafs.FSSpecHandler(MemoryFileSystem())), f"/{key}"
    if family == "abfs":  # abfs[s]://container@account.dfs.core.windows.net/path
        container, _, host = parts.netloc.partition("@")
        account = host.split(".", 1)[0]
        if not account:
            raise UnsupportedSchemeError(f"{uri}: an abfs URI names container@account.dfs.core.windows.net")
        return pafs.AzureFileSystem(account_name=account), f"{container}{parts.path}".rstrip("/")
    host = parts.hostname or "default"
    return pafs.HadoopFileSystem(host, parts.port or 0), parts.path.rstrip("/") or "/"


class Location:
    """A file or folder on any supported filesystem: a local path or a URI. Immutable; ``/`` joins names."""

    def __init__(self, where: str | Path, *, atomic_rename: bool | None = None):
        text = str(where)
        self.scheme = split_scheme(text)[0]
        self.is_local = self.scheme in (None, "file")
        self.uri = local_path(text) if self.is_local else text.rstrip("/")
        family = None if self.is_local else _FAMILY.get(self.scheme)
        # Object stores copy on rename; local disks and HDFS rename atomically. Tests force False to run the
        # object-store commit protocol on a local disk.
        self.atomic_rename = (family in (None, "hdfs")) if atomic_rename is None else atomic_rename

    # -- naming ------------------------------------------------------------------------------------------------

    def __truediv__(self, name: str) -> "Location":
        return self._derive(f"{self.uri}/{name}" if not self.is_local else os.path.join(self.uri, name))

    def _derive(self, uri: str) -> "Location":
        return Location(uri, atomic_rename=self.atomic_rename)

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def parent(self) -> "Location":
        return self._derive(os.path.dirname(self.uri) if self.is_local else self.uri.rsplit("/", 1)[0])

    def __str__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return f"Location({self.uri!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Location) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(self.uri)

    @property
    def path(self) -> Path:
        """The local :class:`Path` (local locations only)."""
        if not self.is_local:
            raise UnsupportedSchemeError(f"{self.uri} is not a local path")
        return Path(self.uri)

    @property
    def spark_path(self) -> str:
        """What Spark's readers and writers are given (Hadoop's scheme names: s3a, abfss)."""
        if self.is_local:
            return self.uri
        family = _FAMILY[self.scheme]
        return _HADOOP_SCHEME[family] + self.uri[len(self.scheme):]

    @cached_property
    def _fs(self):
        import pyarrow.fs as pafs

        if self.is_local:
            return pafs.LocalFileSystem(), self.uri
        return _filesystem_for(self.uri)

    # -- queries -----------------------------------------------------------------------------------------------

    def _info(self):
        fs, key = self._fs
        return fs.get_file_info(key)

    def exists(self) -> bool:
        import pyarrow.fs as pafs

        return self._info().type != pafs.FileType.NotFound

    def is_dir(self) -> bool:
        import pyarrow.fs as pafs

        return self._info().type == pafs.FileType.Directory

    def is_file(self) -> bool:
        import pyarrow.fs as pafs

        return self._info().type == pafs.FileType.File

    def size(self) -> int:
        return int(self._info().size)

    def mtime_ns(self) -> int:
        return int(self._info().mtime_ns or 0)

    def children(self) -> list["Location"]:
        """Entries directly inside this folder (none when it does not exist or is a file), sorted by name."""
        import pyarrow.fs as pafs

        fs, key = self._fs
        try:
            infos = fs.get_file_info(pafs.FileSelector(key, allow_not_found=True))
        except NotADirectoryError:  # a file: it has no entries
            return []
        return sorted((self / info.base_name for info in infos), key=lambda loc: loc.uri)

    def walk_files(self) -> list["Location"]:
        """Every file below this folder, sorted; hidden (``.``) and underscore (``_``) folders and files skipped:
        they hold work in progress (Spark's ``_temporary``, writers' temporaries, markers), not data."""
        import pyarrow.fs as pafs

        found = []
        for child in self.children():
            if child.name.startswith((".", "_")):
                continue
            info = child._info()
            if info.type == pafs.FileType.Directory:
                found.extend(child.walk_files())
            elif info.type == pafs.FileType.File:
                found.append(child)
        return found

    # -- reading and writing -----------------------------------------------------------------------------------

    def mkdir(self) -> None:
        fs, key = self._fs
        fs.create_dir(key, recursive=True)

    def read_bytes(self) -> bytes:
        fs, key = self._fs
        with fs.open_input_stream(key) as stream:
            return stream.read()

    def read_text(self) -> str:
        return self.read_bytes().decode("utf-8")

    def open_input(self):
        """A seekable binary file (``open(path, "rb")`` locally)."""
        if self.is_local:
            return open(self.uri, "rb")
        fs, key = self._fs
        return fs.open_input_file(key)

    def write_bytes(self, data: bytes) -> None:
        """Write so a reader sees the old content or the whole new one: a temporary renamed into place where rename
        is atomic; one PUT on object stores (an object appears whole or not at all)."""
        self.parent.mkdir()
        if not self.atomic_rename or not self.is_local and _FAMILY[self.scheme] != "hdfs":
            fs, key = self._fs
            with fs.open_output_stream(key) as stream:
                stream.write(data)
            return
        if self.is_local:
            temporary = f"{self.parent.uri}/.{self.name}.tmp-{uuid.uuid4().hex[:8]}"
            try:
                with open(temporary, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, self.uri)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
            return
        temporary = self.parent / f".{self.name}.tmp-{uuid.uuid4().hex[:8]}"
        fs, key = self._fs
        with fs.open_output_stream(temporary._fs[1]) as stream:
            stream.write(data)
        fs.move(temporary._fs[1], key)

    def write_text(self, text: str) -> None:
        self.write_bytes(text.encode("utf-8"))

    def create_exclusive(self, text: str) -> bool:
        """Create this file with ``text`` only if it does not exist; False when it does. Atomic on local disks
        (``O_CREAT | O_EXCL``); elsewhere a check then a write (object stores have no portable create-if-absent
        through pyarrow, so two runs starting within the same second could both win: a documented limitation)."""
        if self.is_local:
            try:
                descriptor = os.open(self.uri, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            return True
        if self.exists():
            return False
        self.write_text(text)
        return True

    def remove(self) -> None:
        """Delete this file; nothing when it is absent."""
        fs, key = self._fs
        try:
            fs.delete_file(key)
        except FileNotFoundError:
            pass

    def remove_tree(self) -> None:
        """Delete this folder and everything below it; nothing when it is absent."""
        if self.is_local:
            shutil.rmtree(self.uri, ignore_errors=True)
            return
        fs, key = self._fs
        try:
            fs.delete_dir(key)
        except FileNotFoundError:
            pass

    def rename(self, target: "Location | Path | str") -> None:
        """Move this file or folder to ``target`` (replacing a folder there); atomic only where
        :attr:`atomic_rename` says so."""
        target = location(target)
        if self.is_local:
            if os.path.isdir(target.uri):
                shutil.rmtree(target.uri)
            os.replace(self.uri, target.uri)
            return
        fs, key = self._fs
        if target.is_dir():
            target.remove_tree()
        fs.move(key, target._fs[1])

    def upload_file(self, file: str | Path) -> None:
        import pyarrow.fs as pafs

        fs, key = self._fs
        self.parent.mkdir()
        pafs.copy_files(str(file), key, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)


def location(where: str | Path | Location) -> Location:
    return where if isinstance(where, Location) else Location(where)


__all__ = ["Location", "UnsupportedSchemeError", "check_scheme", "check_spark_scheme", "is_local", "local_path",
           "location", "split_scheme"]
