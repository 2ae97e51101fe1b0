"""Disk space on the host: how much is free where, telling a full disk apart from other errors, and the
reserve that lets a run's last words be written on a full disk.

The reserve is a preallocated file, `<root>/.disk-reserve` (RESERVE_BYTES). Nothing ever writes into it.
When a write that must not fail (the event saying a run failed and why) meets a full disk, the writer
deletes the reserve, which frees its blocks on the same filesystem, and tries once more. The server
puts the reserve back once the disk has room again (ensure_reserve, called from its reaper).
"""

import errno
import os
import shutil

MB = 1024 * 1024
RESERVE_FILE = ".disk-reserve"
RESERVE_BYTES = 1 * MB
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# Libraries that wrap the OS error in their own exception (safetensors' Rust writer, torch's zip
# writer) keep only its text; these are the strings the kernel's errors print as.
FULL_TEXTS = ("no space left on device", "disk quota exceeded", "storagefull", "os error 28", "file write failed")


class DiskFullError(OSError):
    """A write failed because the filesystem is full; the message says what, where and how much."""

    def __init__(self, message: str):
        super().__init__(errno.ENOSPC, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def existing(path: str) -> str:
    """The path, or its nearest existing parent (the folder it would be created in)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return path


def free_bytes(path: str) -> int:
    return shutil.disk_usage(existing(path)).free


def mount_point(path: str) -> str:
    path = os.path.realpath(existing(path))
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def mb_text(n: float) -> str:
    """Sizes as people read them in a message: 0 MB, 640 KB, 5.9 MB, 812 MB, 3.4 GB."""
    mb = n / MB
    if mb >= 1024:
        return f"{mb / 1024:.1f} GB"
    if n < 64 * 1024:
        return "0 MB"
    if mb < 1:
        return f"{n / 1024:.0f} KB"
    return f"{mb:.1f} MB" if mb < 10 else f"{mb:.0f} MB"


def where_free(path: str) -> str:
    """'0 MB free on /scratch': the free space and the filesystem it is on."""
    return f"{mb_text(free_bytes(path))} free on {mount_point(path)}"


def is_disk_full(exc: BaseException, path: str | None = None) -> bool:
    """True when `exc` (or an exception it was raised from) is a full disk.

    Some writers lose the errno (torch's zip writer says only "file write failed"); for those the
    text must match and, when `path` is given, the filesystem must really be (nearly) full.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError):
            return True
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        text = str(exc).lower()
        if any(t in text for t in FULL_TEXTS) and (path is None or free_bytes(path) < RESERVE_BYTES):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# --- the reserve --------------------------------------------------------------------------------


def reserve_path(root: str) -> str:
    return os.path.join(root, RESERVE_FILE)


def ensure_reserve(root: str) -> bool:
    """Create the reserve if it is missing and the disk has room for it and more; True when it is in place."""
    path = reserve_path(root)
    try:
        if os.path.getsize(path) >= RESERVE_BYTES:
            return True
    except OSError:
        pass
    if free_bytes(root) < 4 * RESERVE_BYTES:
        return False  # taking the last MBs back would only move the failure to someone else's write
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _allocate(fd, RESERVE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return True
    except OSError:
        try:
            os.remove(tmp)
        except OSError:
            pass
        return False


def _allocate(fd: int, size: int) -> None:
    # Real blocks, not a sparse file: a sparse reserve would free nothing when deleted.
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in FULL_ERRNOS:
            raise
        block = b"\0" * (64 * 1024)
        for _ in range(size // len(block)):
            os.write(fd, block)


def release_reserve(root: str) -> bool:
    """Delete the reserve to free its space for a write that must succeed; True if there was one."""
    try:
        os.remove(reserve_path(root))
        return True
    except FileNotFoundError:
        return False


class DiskWatch:
    """Says once when free space falls under twice the next checkpoint's size, and again only after it
    has recovered and fallen again (a run that sits on a nearly full disk is not flooded)."""

    def __init__(self, path: str, checkpoint_bytes: int):
        self.path = path
        self.checkpoint_bytes = checkpoint_bytes
        self.low = False

    def check(self, step: int) -> dict | None:
        """The `disk_low` event's data when space has just become short, else None."""
        try:
            free = free_bytes(self.path)
        except OSError:
            return None
        short = free < 2 * self.checkpoint_bytes
        if not short or self.low:
            self.low = short
            return None
        self.low = True
        where = mount_point(self.path)
        return {"step": step, "free_mb": round(free / MB, 1), "checkpoint_mb": round(self.checkpoint_bytes / MB, 1),
                "path": where,
                "message": (f"disk almost full: {mb_text(free)} free on {where}, and the next checkpoint needs about "
                            f"{mb_text(self.checkpoint_bytes)}; free some space or the run will fail at its next save")}
