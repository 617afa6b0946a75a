"""One rule for every file hecon writes, and for every file it reads.

Outputs. A command declares its outputs up front in a :class:`Transaction` (:meth:`claim`),
which refuses, before any work is done: an output that is one of the inputs (the same file,
through symbolic or hard links too), an existing output without ``force``, an output that is a
folder or a device, a folder that cannot be created or written, and a folder without the free
space the outputs need. Files are then written to temporary files beside their final names and
committed together at the end (:meth:`commit`): each is linked into place, which fails if the
name exists (so of two writers of the same name one wins and the other is told), or, with
``force``, replaces the old file after keeping it aside. If any step fails, every file already
committed is removed or restored and every temporary file deleted: a command leaves all its
outputs or none. A process killed outright leaves at most hidden temporary files, which the
next command writing beside them removes.

Inputs. :func:`check_input` accepts regular files only, so a folder or a FIFO given as an input
is refused at once instead of hanging a reader.
"""

from __future__ import annotations

import contextvars
import errno
import gc
import glob
import os
import shutil
import stat
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

TEMP_MARK = ".hecon-"  # hidden temporaries: .<name>.hecon-<pid>-<random>[<suffix>]
SPACE_MARGIN = 16 * 2**20  # bytes kept free beyond the outputs' estimated size
_LINK_UNSUPPORTED = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK,
                     errno.EXDEV}
_ACTIVE: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "hecon_output_transaction", default=None)


class OutputError(ValueError):
    """An output that may not be written (a user error: exit code 2 on the command line)."""


def check_input(path: str | Path, suffixes: Iterable[str] = (), what: str = "input") -> Path:
    """``path`` if it is a regular file with one of ``suffixes`` (any if empty); otherwise a
    one-line error naming it. A folder, FIFO, socket or device is refused without opening it."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} not found: {path}") from None
    except OSError as err:
        raise OutputError(f"cannot read {what} {path}: {err.strerror}") from None
    if stat.S_ISDIR(mode):
        raise OutputError(f"{what} {path} is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise OutputError(f"{what} {path} is not a regular file (a FIFO, socket or device)")
    suffixes = [s.lower() for s in suffixes]
    if suffixes and path.suffix.lower() not in suffixes:
        raise OutputError(f"{what} {path} must be a {' or '.join(suffixes)} file")
    if not os.access(path, os.R_OK):
        raise OutputError(f"cannot read {what} {path}: permission denied")
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) is not a harmless probe elsewhere
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(final: Path) -> None:
    """Remove hidden temporaries of ``final`` left by hecon processes that no longer run (killed
    during a write); a folder moved aside by a killed ``--force`` run is put back first."""
    mark = f".{final.name}{TEMP_MARK}"
    for entry in final.parent.glob(glob.escape(mark) + "*"):
        try:
            pid = int(entry.name[len(mark):].split("-", 1)[0])
        except ValueError:
            continue
        if _alive(pid):
            continue
        if entry.name.endswith(".old") and not os.path.lexists(final):
            os.replace(entry, final)
        else:
            _remove(entry)


def _temp_prefix(final: Path) -> str:
    return f".{final.name}{TEMP_MARK}{os.getpid()}-"


@dataclass
class _Staged:
    final: Path
    temp: Path
    is_dir: bool
    backup: Path | None = None  # the replaced output, kept until the end (force)
    committed: bool = False
    inode: tuple[int, int] | None = None  # (st_dev, st_ino) of what we put in place


@dataclass
class Transaction:
    """The outputs of one command, checked before the work and committed all or none.

    ``inputs``: files no output may resolve to; ``force``: replace existing outputs. Missing
    output folders are created (and removed again if the transaction fails).
    """

    inputs: tuple[Path, ...] = ()
    force: bool = False
    _claimed: dict[Path, int] = field(default_factory=dict)  # output → estimated bytes
    _staged: list[_Staged] = field(default_factory=list)
    _made: list[Path] = field(default_factory=list)  # folders created by this transaction
    _dir_temps: dict[Path, Path] = field(default_factory=dict)  # staged folder → final

    def claim(self, path: str | Path, size: int = 0, folder: bool = False) -> Path:
        """Check that ``path`` may be written (see the module docstring) and reserve it;
        ``size`` is its estimated size in bytes (for the free-space check)."""
        path = Path(path)
        if self._inside_staged_folder(path) is not None:
            return path
        for source in self.inputs:
            if _same_file(path, source) or path.resolve() == Path(source).resolve():
                what = {".xlsx": "input workbook", ".csv": "input table"}.get(
                    Path(source).suffix.lower(), "input")
                raise OutputError(f"the output {path} is the {what} {source}; hecon never "
                                  "writes over an input: choose another name")
        self._check_existing(path, folder)
        self._check_folder(path.parent)
        self._claimed[path] = self._claimed.get(path, 0) + int(size)
        return path

    def _check_existing(self, path: Path, folder: bool) -> None:
        try:
            mode = path.lstat().st_mode
        except (FileNotFoundError, NotADirectoryError):  # the folder is checked next
            return
        if stat.S_ISLNK(mode):
            try:
                mode = path.stat().st_mode
            except FileNotFoundError:  # a dangling link: replaced only with force
                mode = stat.S_IFREG
        if folder:
            if not stat.S_ISDIR(mode):
                raise OutputError(f"the output folder {path} exists and is not a folder")
            entries = list(path.iterdir())
            if entries and not self.force:
                raise FileExistsError(f"{path} exists; choose another name or pass --force")
            foreign = [e.name for e in entries if not (e.is_file() and e.suffix in
                                                       (".png", ".svg"))]
            if foreign:
                raise OutputError(f"{path} holds files other than figures "
                                  f"({', '.join(sorted(foreign)[:3])}); not replacing it")
            return
        if stat.S_ISDIR(mode):
            raise OutputError(f"the output {path} is a folder; give a file name")
        if not stat.S_ISREG(mode):
            raise OutputError(f"the output {path} is not a regular file (a FIFO, socket or "
                              "device); not replacing it")
        if not self.force:
            raise FileExistsError(f"{path} exists; choose another name or pass --force")

    def _check_folder(self, folder: Path) -> None:
        """The folder exists (or is created) and a file can be created in it."""
        folder = folder if str(folder) else Path(".")
        missing = []
        probe = folder
        while not probe.exists() and probe != probe.parent:
            missing.append(probe)
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            raise OutputError(f"the output folder {probe} is a file, not a folder")
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            except OSError as err:
                raise OutputError(f"cannot create the output folder {d}: "
                                  f"{err.strerror}") from None
            self._made.append(d)
        try:
            fd, probe_file = tempfile.mkstemp(prefix=f".probe{TEMP_MARK}{os.getpid()}-",
                                              dir=folder)
        except OSError as err:
            raise OutputError(f"cannot write in the output folder {folder}: "
                              f"{err.strerror}") from None
        os.close(fd)
        os.remove(probe_file)

    def check_space(self) -> None:
        """Refuse (before the work) if a folder lacks the free space its outputs need."""
        need: dict[Path, int] = {}
        for path, size in self._claimed.items():
            need[path.parent] = need.get(path.parent, 0) + size
        for folder, size in need.items():
            free = shutil.disk_usage(folder if str(folder) else ".").free
            if free < size + SPACE_MARGIN:
                raise OutputError(f"not enough free space in {folder or '.'}: the outputs need "
                                  f"about {(size + SPACE_MARGIN) / 2**20:,.0f} MiB, "
                                  f"{free / 2**20:,.0f} MiB free")

    def _inside_staged_folder(self, path: Path) -> Path | None:
        """The final name of ``path`` if it lies in a staged folder, else None."""
        for temp, final in self._dir_temps.items():
            if path.resolve().is_relative_to(temp.resolve()):
                return final / path.resolve().relative_to(temp.resolve())
        return None

    @contextmanager
    def stage(self, path: str | Path) -> Iterator[Path]:
        """A temporary file to write ``path`` to; committed with the transaction. Inside a
        staged folder the file is written directly (the folder is the temporary)."""
        path = Path(path)
        final = self._inside_staged_folder(path)
        if final is not None:
            try:
                yield path
            except OSError as err:
                _release(err)
                raise _naming(err, final) from None
            return
        if any(item.final.resolve() == path.resolve() for item in self._staged):
            raise OutputError(f"{path} would be written twice by this command; give its "
                              "outputs different names")
        if path not in self._claimed:
            self.claim(path)
        remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=path.suffix,
                                   dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private
        item = _Staged(path, Path(tmp), is_dir=False)
        self._staged.append(item)
        try:
            yield item.temp
        except BaseException as err:  # a failed write is never committed, even if caught
            self._staged.remove(item)
            if isinstance(err, OSError):
                _release(err)
                _remove(item.temp)
                raise _naming(err, path) from None
            _remove(item.temp)
            raise

    def stage_folder(self, path: str | Path) -> Path:
        """A temporary folder to fill in place of the folder ``path``; committed with the
        transaction (an existing folder of figures is replaced only with ``force``)."""
        path = Path(path)
        if path not in self._claimed:
            self.claim(path, folder=True)
        remove_stale_temporaries(path)
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), dir=path.parent))
        os.chmod(tmp, 0o777 & ~_umask())
        self._staged.append(_Staged(path, tmp, is_dir=True))
        self._dir_temps[tmp] = path
        return tmp

    def commit(self) -> list[Path]:
        """Put every staged output in place, all or none; return their paths."""
        try:
            for item in self._staged:
                self._commit_one(item)
        except BaseException:
            self.rollback()
            raise
        for item in self._staged:  # success: drop the temporaries and the replaced outputs
            _remove(item.temp if not item.is_dir else None)
            _remove(item.backup)
        done = [item.final for item in self._staged]
        self._staged.clear()
        self._dir_temps.clear()
        self._made.clear()
        return done

    def _commit_one(self, item: _Staged) -> None:
        final = item.final
        exists = os.path.lexists(final) and not (item.is_dir and _empty_folder(final))
        if exists and not self.force:
            raise FileExistsError(f"{final} was created by another process meanwhile; "
                                  "nothing written (choose another name or pass --force)")
        if item.is_dir:
            if exists:
                self._check_existing(final, folder=True)
                item.backup = _backup_name(final)
                os.replace(final, item.backup)
            try:
                os.rename(item.temp, final)  # fails if another writer's folder is in place
            except OSError as err:
                if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    raise FileExistsError(f"{final} was created by another process "
                                          "meanwhile; nothing written") from None
                raise _naming(err, final) from None
        elif self.force:
            if exists:
                item.backup = _backup_name(final)
                try:
                    os.link(final, item.backup, follow_symlinks=False)
                except OSError:
                    item.backup = None  # no hard links here: replaced without a way back
            os.replace(item.temp, final)
        else:
            _link_exclusive(item.temp, final)
        item.committed = True
        st = os.lstat(final)
        item.inode = (st.st_dev, st.st_ino)

    def rollback(self) -> None:
        """Undo: remove committed outputs (restoring replaced ones), temporaries and folders
        this transaction created."""
        for item in reversed(self._staged):
            if item.committed and _is(item.final, item.inode):
                _remove(item.final)
            if item.backup is not None and os.path.lexists(item.backup):
                if os.path.lexists(item.final):
                    _remove(item.backup)  # never replaced: the backup is a second link
                else:
                    os.replace(item.backup, item.final)
            _remove(item.temp)
        self._staged.clear()
        self._dir_temps.clear()
        for folder in reversed(self._made):
            try:
                folder.rmdir()
            except OSError:
                pass
        self._made.clear()


def _backup_name(final: Path) -> Path:
    return final.with_name(f"{_temp_prefix(final)}{os.urandom(4).hex()}.old")


def _empty_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _is(path: Path, inode: tuple[int, int] | None) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return inode is not None and (st.st_dev, st.st_ino) == inode


def _remove(path: Path | None) -> None:
    if path is None or not os.path.lexists(path):
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _link_exclusive(temp: Path, final: Path) -> None:
    """Put ``temp`` in place as ``final`` only if ``final`` does not exist (atomically)."""
    try:
        os.link(temp, final)
        return
    except FileExistsError:
        raise FileExistsError(f"{final} was created by another process meanwhile; nothing "
                              "written (choose another name or pass --force)") from None
    except OSError as err:
        if err.errno not in _LINK_UNSUPPORTED:
            raise _naming(err, final) from None
    try:  # a file system without hard links: claim the name, then replace it
        os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except FileExistsError:
        raise FileExistsError(f"{final} was created by another process meanwhile; nothing "
                              "written") from None
    os.replace(temp, final)


def _release(err: BaseException | None) -> None:
    """Free what the failed writer still holds (an open zip file would otherwise retry its
    flush when collected, and print a traceback of the same error on the way out)."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        seen: set[int] = set()
        while err is not None and id(err) not in seen:  # the error and those it arose from
            seen.add(id(err))
            traceback.clear_frames(err.__traceback__)
            err = err.__context__
        gc.collect()
    finally:
        sys.unraisablehook = hook


def _naming(err: OSError, path: Path) -> OSError:
    """The same error naming the output instead of its temporary."""
    return type(err)(err.errno, err.strerror or str(err), str(path))


@contextmanager
def outside_transaction() -> Iterator[None]:
    """Writes in this block are on their own, not part of the running transaction (scratch
    files that are read back at once)."""
    token = _ACTIVE.set(None)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active() -> Transaction | None:
    """The transaction of the running command, if any."""
    return _ACTIVE.get()


@contextmanager
def transaction(inputs: Iterable[str | Path] = (), force: bool = False
                ) -> Iterator[Transaction]:
    """Run a command's writes as one transaction: committed when the block ends normally,
    rolled back (nothing left) on any exception, including KeyboardInterrupt."""
    outer = active()
    if outer is not None:  # a command's writer inside the command: one transaction
        outer.inputs += tuple(Path(p) for p in inputs)
        yield outer
        return
    tx = Transaction(tuple(Path(p) for p in inputs), force)
    token = _ACTIVE.set(tx)
    try:
        yield tx
    except BaseException:
        tx.rollback()
        raise
    finally:
        _ACTIVE.reset(token)
    tx.commit()


@contextmanager
def atomic_path(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` to: inside a running :func:`transaction` it is
    committed with the transaction's other outputs, otherwise on its own when the block ends.
    An existing ``path`` is refused unless ``force`` (or the transaction's ``force``)."""
    tx = active()
    if tx is not None:
        with tx.stage(path) as tmp:
            yield tmp
        return
    with transaction(force=force) as tx, tx.stage(path) as tmp:
        yield tmp
