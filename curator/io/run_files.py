"""Small files the runner keeps next to a run's outputs: atomically written JSON/text and the run lock.

All I/O goes through :mod:`curator.io.filesystem`, so the same code serves a local folder and a remote output root.
Locally ``os.replace`` makes writes atomic and ``O_CREAT | O_EXCL`` makes the lock exclusive; on object stores a
write is one PUT (whole or absent) and the lock is check-then-create (see
:meth:`curator.io.filesystem.Location.create_exclusive`).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from curator.errors import CuratorError
from curator.io.filesystem import Location, location


log = logging.getLogger("curator")
LOCK_FILE = "_RUN_LOCK"
MARKER = "_COMPLETE"
ATTEMPT_PREFIX = "_attempt-"


def atomic_write_text(path: "Path | Location | str", text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the whole new one, never a torn one."""
    location(path).write_text(text)


def read_json(path: "Path | Location | str", what: str) -> dict[str, Any] | None:
    """The JSON object in ``path``; None (with a warning naming the file) when it is missing, torn or not an object.

    Callers treat None as "not there": an unreadable completion marker means the stage is not complete.
    """
    path = location(path)
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("%s %s is unreadable (%s); treating it as absent", what, path, error)
        return None
    if not isinstance(value, dict):
        log.warning("%s %s does not hold a JSON object; treating it as absent", what, path)
        return None
    return value


def committed_folder(stage_dir: "Path | Location | str") -> Location | None:
    """The folder holding a completed stage's outputs: the attempt its marker names (object stores), else the
    stage folder itself; None when the stage has no readable marker."""
    stage_dir = location(stage_dir)
    marker = read_json(stage_dir / MARKER, "completion marker")
    if marker is None:
        return None
    attempt = marker.get("attempt")
    if isinstance(attempt, str) and attempt.startswith(ATTEMPT_PREFIX) and "/" not in attempt:
        return stage_dir / attempt
    return stage_dir


class RunLockedError(CuratorError):
    """Another live run holds the output folder."""


class RunLock:
    """An exclusive lock on one output root, held by one run at a time.

    The lock file names its holder (owner, host, pid, run id) and carries a heartbeat that a daemon thread refreshes
    every ``heartbeat_seconds``. A lock whose heartbeat is older than ``stale_seconds``, or whose holder is a dead
    process on this host, is stale and is taken over with a warning (a killed run never blocks the folder for good).
    """

    def __init__(self, root: "Path | Location | str", *, stale_seconds: float = 300.0, heartbeat_seconds: float = 30.0):
        self.path = location(root) / LOCK_FILE
        self.stale_seconds = stale_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.run_id = uuid.uuid4().hex[:12]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _content(self, started: float) -> dict[str, Any]:
        return {"owner": _user(), "host": socket.gethostname(), "pid": os.getpid(), "run_id": self.run_id,
                "started": started, "heartbeat": time.time()}

    def acquire(self) -> None:
        for _ in range(3):
            self._started = time.time()
            if not self.path.create_exclusive(json.dumps(self._content(self._started))):
                holder = self.holder()
                if not self.is_stale(holder):
                    raise RunLockedError(f"output folder {self.path.parent} is in use by {describe(holder)}; wait for "
                                         f"it to finish, or delete {self.path} if that run is gone") from None
                log.warning("taking over the stale run lock %s (%s)", self.path, describe(holder))
                self.path.remove()
                continue
            self._thread = threading.Thread(target=self._beat, name="curator-run-lock", daemon=True)
            self._thread.start()
            return
        raise RunLockedError(f"could not take the run lock {self.path}: other runs keep taking it")

    def holder(self) -> dict[str, Any] | None:
        """The lock file's content; None when it is absent or unreadable (being written, or torn)."""
        try:
            value = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def is_stale(self, holder: dict[str, Any] | None) -> bool:
        if holder is None:  # unreadable: judge by the file's age (a fresh one may be mid-write)
            try:
                return time.time() - self.path.mtime_ns() / 1e9 > self.stale_seconds
            except FileNotFoundError:
                return True
        if holder.get("host") == socket.gethostname() and not _pid_alive(holder.get("pid")):
            return True
        heartbeat = holder.get("heartbeat")
        return not isinstance(heartbeat, (int, float)) or time.time() - heartbeat > self.stale_seconds

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            holder = self.holder()
            if holder is not None and holder.get("run_id") != self.run_id:
                log.warning("run lock %s was taken over by %s; this run no longer holds it",
                            self.path, describe(holder))
                return
            try:
                atomic_write_text(self.path, json.dumps(self._content(self._started)))
            except OSError as error:
                log.warning("could not refresh the run lock %s: %s", self.path, error)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        holder = self.holder()
        if holder is not None and holder.get("run_id") == self.run_id:
            self.path.remove()


def describe(holder: dict[str, Any] | None) -> str:
    if holder is None:
        return "an unknown run (unreadable lock file)"
    age = time.time() - holder["heartbeat"] if isinstance(holder.get("heartbeat"), (int, float)) else None
    return (f"run {holder.get('run_id')} of {holder.get('owner')} on {holder.get('host')} (pid {holder.get('pid')}"
            + (f", heartbeat {age:.0f}s ago)" if age is not None else ")"))


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid())
