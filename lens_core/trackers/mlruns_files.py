"""Run folders of an ``mlruns`` store read with as few system calls and Python objects as possible.

Standard library only: besides being imported by :mod:`lens_core.trackers.mlruns`, this file runs as a helper
process (``python -I -S mlruns_files.py``) that reads a share of the run folders while the app's process reads
the rest, so a cold read of thousands of folders uses every core (the files are tiny: the cost is one open, read
and close each, plus Python's parsing, which threads cannot spread over cores).

Each folder is opened once and its files are opened relative to it (``openat``), read in one ``read`` with the
stats for the change token taken from the open descriptors, before the read. ``meta.yaml`` goes through a small
parser for the flat ``key: value`` lines MLflow writes; anything it does not recognise is handed back as text for
YAML. Metric files are reduced where they are read to what the runs table needs: the latest value (MLflow's rule:
the point with the greatest ``(step, timestamp, value)``) and the history's minimum and maximum (NaN ignored).

A symbolic link among a run's files is followed only when it stays inside the store (``root``); FIFOs, sockets and
devices are skipped (they would block or never end); unreadable or undecodable files are skipped, as MLflow's
reader skips them, never raised.
"""
from __future__ import annotations

import marshal
import os
import re
import stat
import subprocess
import sys
import threading

_FILE = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
_DIR = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_DIRECTORY", 0)
_CHUNK = 1 << 16
_open, _read, _close, _fstat = os.open, os.read, os.close, os.fstat
_INF = float("inf")
_NAN = float("nan")

#: meta.yaml keys the runs table reads; lines of other keys may hold anything.
META_KEYS = frozenset({"artifact_uri", "end_time", "experiment_id", "lifecycle_stage", "run_id", "run_name",
                       "run_uuid", "start_time", "status", "user_id"})
_THREE_FIELD_LINES = re.compile(r"(?:\S+ \S+ \S+\n)*(?:\S+ \S+ \S+)?")
_META_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
# Plain scalars YAML reads as text for certain: a letter or "/" first, no space, quote, comment, flow or escape
# character, not ending in ":" (a word YAML 1.1 reads as a bool or null is checked apart).
_PLAIN = re.compile(r"(?:[^\W\d]|/)[\w.:/%@+~=-]*(?<!:)")
_HEX_ID = re.compile(r"[0-9a-f]*[a-f][0-9a-f]*")  # run ids: text unless YAML could read a binary int (0b…)
_BINARY = re.compile(r"0b[01]+")
_YAML_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null"})


def read_bytes(path: str, dir_fd: int | None = None) -> tuple[bytes, tuple[int, int]] | None:
    """(content, (mtime_ns, size)) of one file, the stat taken before the read; None when it cannot be read."""
    try:
        fd = _open(path, _FILE, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = _fstat(fd)
        data = _read(fd, _CHUNK)
        if len(data) == _CHUNK:
            data = _read_rest(fd, data)
        return data, (st.st_mtime_ns, st.st_size)
    except OSError:
        return None
    finally:
        _close(fd)


def _open_dir(name: str, dir_fd: int | None = None) -> int | None:
    try:
        return os.open(name, _DIR, dir_fd=dir_fd)
    except OSError:
        return None


def _inside(path: str, root: str) -> str | None:
    """The real path of ``path`` when it is ``root`` or below it (``root`` given as a real path)."""
    target = os.path.realpath(path)
    return target if target == root or target.startswith(root.rstrip(os.sep) + os.sep) else None


def _files(dfd: int, folder: str, root: str, read: bool = True, stats: bool = True, prefix: str = "",
           dirs: list[tuple[int, int] | None] | None = None) -> list[tuple[str, bytes | None, tuple[int, int] | None]]:
    """(key, content, stat) of every file below the open folder ``dfd`` (path ``folder``); keys are relative paths
    joined by "/" (MLflow keys may hold "/"), in directory order, a sub-folder's files where the sub-folder is
    listed. ``read=False``: stats only (content None); ``stats=False``: contents only (stat None). A file that
    cannot be read keeps its place with content None, so both calls always list the same files. With ``stats``,
    ``dirs`` receives the stats of the sub-folders (a key added to or removed from one changes only its own)."""
    out: list[tuple[str, bytes | None, tuple[int, int] | None]] = []
    append = out.append
    try:
        entries = os.scandir(dfd)
    except OSError:
        return out
    with entries:
        for entry in entries:
            name = entry.name
            try:
                if entry.is_file(follow_symlinks=False):  # the usual case, decided by the listing alone
                    if not read:
                        st = entry.stat(follow_symlinks=False)
                        append((prefix + name, None, (st.st_mtime_ns, st.st_size)))
                        continue
                    try:
                        fd = _open(name, _FILE, dir_fd=dfd)
                    except OSError:
                        append((prefix + name, None, _stat_at(name, dfd) if stats else None))
                        continue
                    known = None
                    try:
                        if stats:
                            st = _fstat(fd)
                            known = (st.st_mtime_ns, st.st_size)
                        data = _read(fd, _CHUNK)
                        if len(data) == _CHUNK:  # rare: a long history
                            data = _read_rest(fd, data)
                    except OSError:
                        data = None
                    finally:
                        _close(fd)
                    append((prefix + name, data, known))
                elif entry.is_dir(follow_symlinks=False):
                    sub = _open_dir(name, dfd)
                    if sub is not None:
                        try:
                            if stats and dirs is not None:
                                dirs.append(_dir_stat(sub))
                            out += _files(sub, f"{folder}/{name}", root, read, stats, f"{prefix}{name}/", dirs)
                        finally:
                            _close(sub)
                elif entry.is_symlink():
                    target = _inside(f"{folder}/{name}", root)
                    if target is None:
                        continue  # a link out of the store is neither read nor watched
                    got = read_bytes(target) if read else None
                    append((prefix + name, *got) if got else (prefix + name, None, _stat_at(target)))
                # else a FIFO, socket or device: not a value MLflow wrote (and reading a FIFO would block)
            except OSError:
                continue
    return out


def _read_rest(fd: int, data: bytes) -> bytes:
    chunks = [data]
    while chunk := _read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _texts(files: list[tuple[str, bytes | None, tuple[int, int] | None]]) -> tuple[list[str], list[str]]:
    """(keys, values) of params or tags; a file that is not UTF-8 text is skipped (as before)."""
    keys, values = [], []
    for key, data, _ in files:
        if data is None:
            continue
        try:
            values.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        keys.append(key)
    return keys, values


def metric_summary(data: bytes) -> tuple[float, float, float] | None:
    """(latest, min, max) of one metric file's lines ``timestamp value [step]``; None when no line is valid.

    Lines of 2 fields (MLflow 0.x / 1.x without a step) have step 0; 5-field lines (an old format) read their first
    three; other lines are skipped. The latest point is the greatest ``(step, timestamp, value)`` (the first of
    equals); NaN points do not count for min and max (both NaN when every point is NaN).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text and _THREE_FIELD_LINES.fullmatch(text):  # what MLflow writes: a few C-level passes over the columns
        tokens = text.split()
        try:
            values = list(map(float, tokens[1::3]))
            best = max(zip(map(int, tokens[2::3]), map(int, tokens[0::3]), values))
        except ValueError:
            return _metric_lines(text)
        total = sum(values)
        if total == total:  # noqa: PLR0124 - no NaN point (nor +inf beside -inf): min and max see every value
            return best[2], min(values), max(values)
    return _metric_lines(text)


def _metric_lines(text: str) -> tuple[float, float, float] | None:
    """:func:`metric_summary` line by line, for any file."""
    best = None
    lo, hi, finite = _INF, -_INF, False
    for line in text.splitlines():
        parts = line.split()
        n = len(parts)
        try:
            if n == 3 or n == 5:
                point = (int(parts[2]), int(parts[0]), float(parts[1]))
            elif n == 2:
                point = (0, int(parts[0]), float(parts[1]))
            else:
                continue
        except ValueError:
            continue
        if best is None or point > best:
            best = point
        value = point[2]
        if value == value:  # noqa: PLR0124 - not NaN
            finite = True
            lo = min(lo, value)
            hi = max(hi, value)
    if best is None:
        return None
    return (best[2], lo, hi) if finite else (best[2], _NAN, _NAN)


def parse_meta(text: str) -> dict[str, object] | None:
    """The :data:`META_KEYS` of a run's meta.yaml as YAML would read them, when every line holding one is a flat
    ``key: scalar`` line of the forms MLflow writes (plain text, quoted text, integers, null); None otherwise
    (the caller then asks YAML)."""
    meta: dict[str, object] = {}
    last = None
    for line in text.split("\n"):
        if not line:
            continue
        first = line[0]
        if first == " " or first == "-":  # a continuation of the previous key's value (lists, folded text)
            if last is None or last in META_KEYS:
                return None
            continue
        match = _META_LINE.fullmatch(line)
        if match is None:
            return None
        last = key = match[1]
        if key not in META_KEYS:
            continue
        value = _scalar(match[2])
        if value is _NOT_SIMPLE:
            return None
        meta[key] = value
    return meta if last is not None else None  # an empty file: YAML reads nothing either


_NOT_SIMPLE = object()


def _scalar(value: str | None) -> object:
    if value is None or value == "" or value == "~":
        return None
    first = value[0]
    if first == "'":
        inner = value[1:-1]
        if len(value) < 2 or value[-1] != "'" or "'" in inner.replace("''", ""):
            return _NOT_SIMPLE
        return inner.replace("''", "'")
    if first == '"':
        inner = value[1:-1]
        if len(value) < 2 or value[-1] != '"' or '"' in inner or "\\" in inner:
            return _NOT_SIMPLE
        return inner
    if _INT.fullmatch(value):
        return int(value)
    if _PLAIN.fullmatch(value):
        if value.lower() in _YAML_WORDS and value in (value.lower(), value.upper(), value.capitalize()):
            return None if value.lower() == "null" else _NOT_SIMPLE
        return value
    if _HEX_ID.fullmatch(value) and not _BINARY.fullmatch(value):
        return value
    return _NOT_SIMPLE


def _stat_at(name: str, dfd: int | None = None) -> tuple[int, int] | None:
    try:
        st = os.stat(name, dir_fd=dfd)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _dir_stat_at(name: str, dfd: int) -> tuple[int, int] | None:
    """The stat of a sub-folder, None when it is missing or not a folder (as :func:`_open_dir` would find)."""
    try:
        st = os.stat(name, dir_fd=dfd)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if stat.S_ISDIR(st.st_mode) else None


def _dir_stat(fd: int | None) -> tuple[int, int] | None:
    if fd is None:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def listing_token(files: list[tuple[str, bytes | None, tuple[int, int] | None]],
                  dirs: list[tuple[int, int] | None]) -> tuple[int, int, int, int]:
    """The part of a change token for the files below a folder: how many, the sums of their modification times and
    sizes, and the sum of the sub-folders' modification times. Any file rewritten in place changes its time (and
    so the sum); a key added, removed or renamed changes the count or a folder's time. A few numbers per run instead
    of an entry per file keep the probe and its digest cheap."""
    mtimes = sizes = 0
    for _, _, st in files:
        if st is not None:
            mtimes += st[0]
            sizes += st[1]
    return len(files), mtimes, sizes, sum(st[0] for st in dirs if st is not None)


def run_token(run_dir: str, root: str, watch_metrics: bool) -> tuple[object, ...]:
    """What changes when a run changes: its meta file, its folders (new keys), every tag file (MLflow rewrites
    tags in place) and, while the run is running, its metric files (points are appended). Stats only."""
    rfd = _open_dir(run_dir)
    if rfd is None:
        return (None, None, None, None)
    try:
        parts: list[object] = [_stat_at("meta.yaml", rfd)]
        listed: dict[str, tuple[int, int, int, int] | None] = {"tags": None, "metrics": None}
        for name in ("metrics", "params", "tags"):
            if name == "params" or (name == "metrics" and not watch_metrics):
                parts.append(_dir_stat_at(name, rfd))
                continue
            fd = _open_dir(name, rfd)
            parts.append(_dir_stat(fd))
            if fd is not None:
                try:
                    dirs: list[tuple[int, int] | None] = []
                    listed[name] = listing_token(_files(fd, f"{run_dir}/{name}", root, False, dirs=dirs), dirs)
                finally:
                    _close(fd)
        parts.append(listed["tags"])
        if watch_metrics:
            parts.append(listed["metrics"])
        return tuple(parts)
    finally:
        _close(rfd)


#: What :func:`read_run` gives back (plain values only, so a helper process can send it with marshal):
#: ``(token, metric_stats, meta, meta_text, metrics, params, tags)``. ``token`` is :func:`run_token` without the
#: metric files; ``metric_stats`` those files' part of the token (given when the run is live or its meta could
#: not be read here: ``token + (metric_stats,)`` is then the live run's token); ``meta`` the parsed
#: :data:`META_KEYS` or None, then ``meta_text`` is the file for YAML;
#: ``metrics`` the columns ``(keys, latest values, minima, maxima)``; ``params`` and ``tags`` ``(keys, values)``.
RunFiles = tuple


#: Run statuses of meta.yaml that end a run (FINISHED, FAILED, KILLED); any other is read as live.
_ENDED = frozenset({3, 4, 5})


def read_run(run_dir: str, root: str) -> RunFiles | None:
    """Everything the runs table needs from one run folder, with its change token; None when the folder or its
    meta.yaml cannot be read (MLflow ignores such runs). ``root``: the store's real path (links stay inside)."""
    rfd = _open_dir(run_dir)
    if rfd is None:
        return None
    try:
        meta_read = read_bytes("meta.yaml", rfd)
        if meta_read is None:
            return None
        try:
            meta_text = meta_read[0].decode("utf-8")
        except UnicodeDecodeError:
            return None
        meta = parse_meta(meta_text)
        # a live run's metric files are watched (points are appended): their stats join its token
        status = None if meta is None else meta.get("status")
        watch = not (isinstance(status, int) and status in _ENDED)
        token: list[object] = [meta_read[1]]
        found = {}
        listed: dict[str, tuple[int, int, int, int] | None] = {"tags": None, "metrics": None}
        for name in ("metrics", "params", "tags"):
            fd = _open_dir(name, rfd)
            token.append(_dir_stat(fd))
            if fd is not None:
                try:
                    stats = name == "tags" or (name == "metrics" and watch)
                    dirs: list[tuple[int, int] | None] = []
                    found[name] = _files(fd, f"{run_dir}/{name}", root, stats=stats, dirs=dirs)
                    if stats:
                        listed[name] = listing_token(found[name], dirs)
                finally:
                    _close(fd)
        token.append(listed["tags"])
        metric_files = found.get("metrics", ())
        metric_stats = listed["metrics"] if watch else None
        metrics: tuple[list[str], list[float], list[float], list[float]] = ([], [], [], [])
        keys, latest, lows, highs = metrics
        for key, data, _ in metric_files:
            summary = None if data is None else metric_summary(data)
            if summary is not None:
                keys.append(key)
                latest.append(summary[0])
                lows.append(summary[1])
                highs.append(summary[2])
        return (tuple(token), metric_stats, meta, None if meta is not None else meta_text, metrics,
                _texts(found.get("params", [])), _texts(found.get("tags", [])))
    finally:
        os.close(rfd)


def read_runs(run_dirs: list[str], root: str) -> list[RunFiles | None]:
    return [read_run(run_dir, root) for run_dir in run_dirs]


def read_runs_parallel(run_dirs: list[str], root: str, workers: int) -> list[RunFiles | None]:
    """:func:`read_runs` with ``workers - 1`` helper processes reading a share each while this process reads its
    own. A helper that cannot start or fails leaves its share to this process."""
    if workers <= 1 or len(run_dirs) < 2 * workers:
        return read_runs(run_dirs, root)
    shares = [run_dirs[i::workers] for i in range(workers)]
    helpers = []
    for share in shares[1:]:
        helper = _Helper(share, root)
        helper.start()
        helpers.append(helper)
    mine = read_runs(shares[0], root)
    results: list[list[RunFiles | None]] = [mine]
    for helper, share in zip(helpers, shares[1:]):
        got = helper.result()
        results.append(got if got is not None else read_runs(share, root))
    out: list[RunFiles | None] = [None] * len(run_dirs)
    for i, part in enumerate(results):
        out[i::workers] = part
    return out


class _Helper:
    """One helper process: its share of run folders goes in on stdin, the results come back on stdout (marshal)."""

    def __init__(self, run_dirs: list[str], root: str) -> None:
        self.payload = marshal.dumps((run_dirs, root))
        self.count = len(run_dirs)
        self.output: bytes | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="lens-mlruns-helper", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            proc = subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            out, _ = proc.communicate(self.payload)
            if proc.returncode == 0:
                self.output = out
        except (OSError, ValueError, subprocess.SubprocessError):
            self.output = None

    def result(self) -> list[RunFiles | None] | None:
        if self.thread is not None:
            self.thread.join()
        if self.output is None:
            return None
        try:
            got = marshal.loads(self.output)
        except (EOFError, ValueError, TypeError):
            return None
        return got if isinstance(got, list) and len(got) == self.count else None


def _helper_main() -> None:
    run_dirs, root = marshal.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(marshal.dumps(read_runs(run_dirs, root)))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _helper_main()
