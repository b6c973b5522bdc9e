"""The parts store of a run: commit log, resume and the lock, shared by both engines.

Beside an output ``flagged.csv`` a run keeps

* ``flagged.csv.lock``: who runs on this output (pid, host, start time), held with ``flock``
  for the life of the run, so a second run on the same output is refused at once; the
  lock of a process that died (even by ``kill -9``) is released by the kernel and taken over;
* ``flagged.csv.parts/``: ``state.json`` (fingerprint of inputs and config), ``flags.jsonl``
  (flag rows, appended batch by batch and fsynced) and ``progress.jsonl`` (one commit line
  per batch, written *after* its rows, naming the batch's documents with a hash of each
  document's text and the committed length of ``flags.jsonl``).

A run killed at any point resumes from the last commit line: rows written after it are cut
off, committed documents are skipped, and a committed document whose text has changed is
refused. Library code: raises ``ResumeError``/``RunLockedError``, never prints.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator

from pipeline import __version__
from pipeline.errors import ResumeError, RunLockedError


def text_hash(text: str) -> str:
    """The content hash committed with each document (first 16 hex digits of SHA-256)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def lock_path(out: Path) -> Path:
    """The lock file of output ``out``: ``<out>.lock``."""
    return out.with_name(out.name + ".lock")


def parts_path(out: Path) -> Path:
    """The folder of a run's committed parts for output ``out``: ``<out>.parts``."""
    return out.with_name(out.name + ".parts")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """An exclusive, non-blocking lock on one output (``<out>.lock``).

    ``flock`` on the lock file: released by the kernel when the holder dies, so a stale lock
    (a dead pid) is simply taken over. The file records pid, host and start time for the
    message a second run gets.
    """

    def __init__(self, out: Path, *, path: Path | None = None):
        self.path = Path(path) if path is not None else lock_path(out)
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise ``RunLockedError`` describing the run that holds it; returns self."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise RunLockedError(
                    f"another run is writing this output ({self.path.with_suffix('').name}): "
                    f"{self._describe()}",
                    fix="wait for it to finish, or write to another output with -o",
                ) from None
            # the holder may have removed the file between our open and flock: retry on the
            # new file, or two runs could each lock a different inode
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "started_ts": time.time()}
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        except BaseException:  # a full disk: leave no lock file behind
            self.release()
            raise
        return self

    def _describe(self) -> str:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, json.JSONDecodeError):
            return "pid unknown (lock file unreadable)"
        pid, host = info.get("pid"), info.get("host", "?")
        alive = ""
        if isinstance(pid, int) and host == socket.gethostname():
            alive = "" if _pid_alive(pid) else " (not running here, but the lock is held)"
        return f"pid {pid} on {host}, started {info.get('started', '?')}{alive}"

    def release(self) -> None:
        """Remove the lock file and release the lock (nothing if it is not held)."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class RunLocks:
    """Several RunLocks taken together (one per file a run writes): all or none."""

    def __init__(self, paths: list[Path]):
        self.locks = [RunLock(Path(), path=p) for p in paths]
        self._held: list[RunLock] = []

    def acquire(self) -> RunLocks:
        """Take every lock, or none (those taken are released) and re-raise; returns self."""
        try:
            for lk in self.locks:
                self._held.append(lk.acquire())
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        """Release the locks taken, last first."""
        while self._held:
            self._held.pop().release()

    def __enter__(self) -> RunLocks:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass
class Committed:
    """What an interrupted run had committed."""

    commits: list[dict] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)  # every committed document (done or failed)
    torn: list[str] = field(default_factory=list)  # notes about torn tails that were dropped


class PartsStore:
    """``<out>.parts/``: state.json, flags.jsonl, progress.jsonl (and engine side files)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.state = folder / "state.json"
        self.flags = folder / "flags.jsonl"
        self.progress = folder / "progress.jsonl"

    # lifecycle ---------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the parts folder exists."""
        return self.folder.exists()

    def read_state(self) -> dict | None:
        """The parsed state.json, or None when it is missing or unreadable."""
        try:
            return json.loads(self.state.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None

    def unfinished(self) -> bool:
        """True when the folder holds an interrupted run (committed work not yet in an output)."""
        if not self.folder.exists():
            return False
        st = self.read_state()
        if st is not None and st.get("finished"):
            return False
        return self.progress.is_file() and self.progress.stat().st_size > 0

    def start(self, fingerprint: str, inputs: list[str], engine: str,
              models: dict[str, str] | None = None) -> None:
        """Start a fresh parts folder (an old one is removed): the state with the config's
        ``fingerprint``, inputs, engine and models, and empty flags and progress files."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        _write_json(self.state, {"fingerprint": fingerprint, "inputs": inputs, "engine": engine,
                                 "models": models or {}, "version": __version__,
                                 "created": time.time()})
        self.flags.touch()
        self.progress.touch()

    def mark_finished(self) -> None:
        """Record in the state that the run finished."""
        st = self.read_state() or {}
        st["finished"] = time.time()
        _write_json(self.state, st)

    def remove(self) -> None:
        """Delete the parts folder."""
        shutil.rmtree(self.folder, ignore_errors=True)

    # resume ------------------------------------------------------------------------
    def load(self, fingerprint: str, models: dict[str, str] | None = None) -> Committed:
        """Committed batches; cuts off anything written after the last commit; explains
        corruption with ResumeError, and a model retrained since (``models``: sha256 by
        model, as the run computed them) as such."""
        if not self.state.is_file():
            raise ResumeError(f"{self.folder}: no state.json; this is not a resumable run folder",
                              fix="run again with --fresh")
        try:
            state = json.loads(self.state.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ResumeError(f"{self.state}: corrupt ({exc})", fix="run again with --fresh") from exc
        if state.get("fingerprint") != fingerprint:
            then = state.get("models") or {}
            now = models or {}
            changed = [k for k in now if then and then.get(k) != now[k]]
            if changed:
                names = {"nli": "the NLI model's weights", "decider": "the decision model",
                         "embedder": "the sentence embedder's weights"}
                raise ResumeError(
                    f"{' and '.join(names.get(k, k) for k in changed)} changed since the "
                    f"interrupted run in {self.folder} (sha256 "
                    f"{', '.join(f'{str(then.get(k))[:12]} -> {now[k][:12]}' for k in changed)}); "
                    f"resumed rows would mix two models' scores",
                    fix="start over with --fresh, or write to a new output with -o",
                )
            raise ResumeError(
                f"{self.folder} belongs to a run with other inputs or another config",
                expected=state.get("fingerprint"), found=fingerprint,
                fix="resume with the same inputs and config, or start over with --fresh",
            )
        if not self.progress.is_file() or not self.flags.is_file():
            raise ResumeError(f"{self.folder}: progress.jsonl or flags.jsonl is missing",
                              fix="run again with --fresh")
        out = Committed()
        data = self.progress.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline: empty, or a torn write from a kill
        if tail:
            out.torn.append(f"progress.jsonl: dropped a torn last line ({len(tail)} bytes)")
        for n, line in enumerate(lines, start=1):
            try:
                rec = json.loads(line)
                int(rec["flags_bytes"]), list(rec["docs"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ResumeError(f"{self.progress}:{n}: corrupt commit line ({exc})",
                                  fix="run again with --fresh") from exc
            if out.commits and rec["flags_bytes"] < out.commits[-1]["flags_bytes"]:
                raise ResumeError(f"{self.progress}:{n}: flags length goes backwards",
                                  fix="run again with --fresh")
            out.commits.append(rec)
            out.hashes.update(rec.get("hashes", {}))
        committed = out.commits[-1]["flags_bytes"] if out.commits else 0
        size = self.flags.stat().st_size
        if size < committed:
            raise ResumeError(
                f"{self.flags} is shorter ({size} bytes) than its last commit ({committed} bytes)",
                fix="the run folder was damaged; run again with --fresh",
            )
        if size > committed:
            out.torn.append(f"flags.jsonl: dropped {size - committed} bytes written after the "
                            f"last commit")
        with self.flags.open("r+b") as fh:
            fh.truncate(committed)
        with self.flags.open("rb") as fh:
            for n, line in enumerate(fh, start=1):
                try:
                    json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ResumeError(f"{self.flags}:{n}: corrupt flag row",
                                      fix="run again with --fresh") from exc
        with self.progress.open("r+b") as fh:
            fh.truncate(len(data) - len(tail))
        return out

    # commits -----------------------------------------------------------------------
    def commit(self, rows: list[dict], record: dict) -> None:
        """Append ``rows`` to flags.jsonl (fsync), then the commit line (fsync)."""
        with self.flags.open("ab") as fh:
            for r in rows:
                fh.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
            record["flags_bytes"] = fh.tell()
        with self.progress.open("ab") as fh:
            fh.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())

    def sorted_rows(self) -> Iterator[dict]:
        """Committed rows by score (highest first), ties in input order (``_seq``), holding
        only (score, seq, offset) triples in memory."""
        index = []
        with self.flags.open("rb") as fh:
            while True:
                off = fh.tell()
                line = fh.readline()
                if not line:
                    break
                row = json.loads(line)
                index.append((-row["score"], row.get("_seq", 0), off))
        index.sort()
        with self.flags.open("rb") as fh:
            for _, _, off in index:
                fh.seek(off)
                yield json.loads(fh.readline())


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
