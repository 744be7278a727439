"""Linux isolation primitives through libc (Python 3.11 has no os.unshare): namespaces, mounts,
Landlock, seccomp, cgroups and resource limits. Each function raises OSError with the step's name.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)
# syscall() through PyDLL would keep the GIL; these calls are short, so CDLL (releasing it) is fine.
_libc.syscall.restype = ctypes.c_long
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NAMESPACES = (
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
)

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2

_X86_64 = os.uname().machine == "x86_64"
SYS_PIVOT_ROOT = 155
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def mount(source: str, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def umount(target: str, flags: int = MNT_DETACH) -> None:
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(SYS_PIVOT_ROOT, new_root.encode(), put_old.encode()), "pivot_root")


def prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, arg, 0, 0, 0), f"prctl {option}")


# Landlock (ABI 1-6). Rules allow; whatever is handled and not allowed is denied.
LL_EXECUTE = 1 << 0
LL_WRITE_FILE = 1 << 1
LL_READ_FILE = 1 << 2
LL_READ_DIR = 1 << 3
LL_REMOVE_DIR = 1 << 4
LL_REMOVE_FILE = 1 << 5
LL_MAKE_CHAR = 1 << 6
LL_MAKE_DIR = 1 << 7
LL_MAKE_REG = 1 << 8
LL_MAKE_SOCK = 1 << 9
LL_MAKE_FIFO = 1 << 10
LL_MAKE_BLOCK = 1 << 11
LL_MAKE_SYM = 1 << 12
LL_REFER = 1 << 13
LL_TRUNCATE = 1 << 14
LL_IOCTL_DEV = 1 << 15
LL_NET_BIND_TCP = 1 << 0
LL_NET_CONNECT_TCP = 1 << 1
LL_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
LL_SCOPE_SIGNAL = 1 << 1
LL_READ = LL_EXECUTE | LL_READ_FILE | LL_READ_DIR
_LL_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; OSError where Landlock is absent or disabled."""
    return _check(
        _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1)), "landlock"
    )


def landlock_ruleset(read_only: list[str], read_write: list[str], write_files: list[str]) -> tuple[int, int]:
    """A ruleset fd: read and execute under `read_only`, everything under `read_write`, writing to
    `write_files` (/dev/null); with ABI >= 4 no TCP bind/connect; with ABI >= 6 no signals or abstract
    unix sockets beyond the sandboxed processes. Rules name inodes: a file system mounted later on a
    ruled directory is not covered. Returns (fd, abi)."""
    abi = landlock_abi()
    fs = _LL_FS_BY_ABI[max(k for k in _LL_FS_BY_ABI if k <= abi)]
    net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP if abi >= 4 else 0
    scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL if abi >= 6 else 0
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    buffer = ctypes.create_string_buffer(struct.pack("QQQ", fs, net, scoped)[:size], size)
    fd = _check(
        _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, buffer, ctypes.c_size_t(size), ctypes.c_uint32(0)),
        "landlock ruleset",
    )
    rules = [(path, LL_READ) for path in read_only] + [(path, fs) for path in read_write]
    rules += [
        (path, LL_READ_FILE | LL_WRITE_FILE | ((LL_TRUNCATE | LL_IOCTL_DEV) & fs)) for path in write_files
    ]
    for path, access in rules:
        target = os.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            if not os.path.isdir(path):
                access &= LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV
            rule = ctypes.create_string_buffer(struct.pack("=Qi", access, target), 12)
            _check(
                _libc.syscall(SYS_LANDLOCK_ADD_RULE, fd, 1, rule, ctypes.c_uint32(0)), f"landlock rule {path}"
            )
        finally:
            os.close(target)
    return fd, abi


def landlock_restrict(ruleset: int) -> None:
    _check(_libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)), "landlock restrict")


# seccomp: a deny list for x86_64, answered with EPERM (the program sees a failing call, not a kill).
_DENIED_X86_64 = {
    "ptrace": 101, "syslog": 103, "acct": 163, "swapon": 167, "swapoff": 168,
    "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173, "init_module": 175,
    "delete_module": 176, "quotactl": 179, "pivot_root": 155, "chroot": 161, "settimeofday": 164,
    "adjtimex": 159, "clock_settime": 227, "clock_adjtime": 305, "vhangup": 153, "lookup_dcookie": 212,
    "kexec_load": 246, "kexec_file_load": 320, "add_key": 248, "request_key": 249, "keyctl": 250,
    "move_pages": 279, "migrate_pages": 256, "perf_event_open": 298,
    "fanotify_init": 300, "name_to_handle_at": 303, "open_by_handle_at": 304, "process_vm_readv": 310,
    "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "bpf": 321, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_getfd": 438,
    "mount_setattr": 442, "personality": 135, "uselib": 134, "ustat": 136, "sysfs": 139, "_sysctl": 156,
    "nfsservctl": 180, "create_module": 174, "get_kernel_syms": 177, "query_module": 178,
}  # fmt: skip
_SYS_CLONE = 56
_SYS_CLONE3 = 435
_SYS_UNSHARE = 272
_SYS_SETNS = 308
_SYS_SOCKET = 41
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_SECCOMP_RET_KILL_PROCESS = 0x80000000
_ALLOWED_SOCKET_FAMILIES = (1, 2, 10, 16)  # AF_UNIX, AF_INET, AF_INET6, AF_NETLINK (glibc needs it)


def _bpf(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def seccomp_program() -> ctypes.Array:
    """The BPF filter as a `struct sock_fprog` buffer, loaded once in the zygote.

    Denied with EPERM: the calls in _DENIED_X86_64 (ptrace, kernel keyring, modules, bpf,
    io_uring, new mount API, ...), clone with any namespace flag, unshare and setns except the
    zygote's own per-sample calls (new PID and IPC namespaces; setns back to its PID namespace),
    which need CAP_SYS_ADMIN, which samples never have,
    socket families other than unix/inet/inet6/netlink; clone3 answers ENOSYS so that libc falls
    back to clone, whose flags can be checked. Other architectures and the x32 ABI are killed.
    mount and umount2 stay allowed for the zygote's /tmp: they too need CAP_SYS_ADMIN.
    """
    if not _X86_64:
        raise OSError(errno.ENOSYS, "seccomp filter: only x86_64 is supported")
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    ld_nr, ld_arch, ld_arg0, ld_arg1 = (ld, 0, 0, 0), (ld, 0, 0, 4), (ld, 0, 0, 16), (ld, 0, 0, 24)
    eperm = _SECCOMP_RET_ERRNO | errno.EPERM
    program: list[tuple[int, int, int, int]] = [ld_arch, (jeq, 1, 0, _AUDIT_ARCH_X86_64)]
    program += [
        (ret, 0, 0, _SECCOMP_RET_KILL_PROCESS),
        ld_nr,
        (jset, 0, 1, _X32_BIT),
        (ret, 0, 0, _SECCOMP_RET_KILL_PROCESS),
    ]
    for number in sorted(set(_DENIED_X86_64.values())):
        program += [(jeq, 0, 1, number), (ret, 0, 0, eperm)]
    program += [(jeq, 0, 1, _SYS_CLONE3), (ret, 0, 0, _SECCOMP_RET_ERRNO | errno.ENOSYS)]
    for number, argument, allowed in (
        (_SYS_UNSHARE, ld_arg0, CLONE_NEWPID | CLONE_NEWIPC),
        (_SYS_SETNS, ld_arg1, CLONE_NEWPID),
    ):
        program += [(jeq, 0, 4, number), argument, (jeq, 0, 1, allowed), (ret, 0, 0, _SECCOMP_RET_ALLOW)]
        program += [(ret, 0, 0, eperm)]
    program += [(jeq, 0, 3, _SYS_CLONE), ld_arg0, (jset, 0, 1, CLONE_NAMESPACES), (ret, 0, 0, eperm)]
    program += [ld_nr, (jeq, 0, len(_ALLOWED_SOCKET_FAMILIES) + 2, _SYS_SOCKET), ld_arg0]
    for index, family in enumerate(_ALLOWED_SOCKET_FAMILIES):
        program.append((jeq, len(_ALLOWED_SOCKET_FAMILIES) - index, 0, family))
    program += [(ret, 0, 0, _SECCOMP_RET_ERRNO | errno.EAFNOSUPPORT), (ret, 0, 0, _SECCOMP_RET_ALLOW)]
    filters = b"".join(_bpf(*instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(filters, len(filters))
    fprog = ctypes.create_string_buffer(struct.pack("HxxxxxxQ", len(program), ctypes.addressof(buffer)), 16)
    fprog._keep = buffer  # type: ignore[attr-defined]  # the instructions must live as long as the header
    return fprog


def seccomp_load(fprog: ctypes.Array) -> None:
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0), "seccomp")


def join_cgroups(dir_fds: dict[str, int]) -> None:
    """Called in the sample process itself, before anything of the sample runs."""
    for _key, fd in dir_fds.items():
        procs = os.open("cgroup.procs", os.O_WRONLY, dir_fd=fd)
        try:
            os.write(procs, b"0")
        finally:
            os.close(procs)


def read_counter(dir_fd: int, filename: str, key: str) -> int:
    """A `key value` line of a cgroup file (memory.oom_control's oom_kill, memory.events' oom_kill)."""
    fd = os.open(filename, os.O_RDONLY, dir_fd=dir_fd)
    try:
        text = os.read(fd, 4096).decode()
    finally:
        os.close(fd)
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def oom_events(dir_fd: int) -> int:
    """A non-blocking eventfd that the kernel signals each time the memory cgroup `dir_fd` runs out
    of memory (cgroup v1's memory.oom_control notification), so that a watcher learns it at once
    instead of when the sample ends: the OOM killer may take a child and leave its parent waiting."""
    events = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
    try:
        control = os.open("memory.oom_control", os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            register = os.open("cgroup.event_control", os.O_WRONLY | os.O_CLOEXEC, dir_fd=dir_fd)
            try:
                os.write(register, f"{events} {control}".encode())
            finally:
                os.close(register)
        finally:
            os.close(control)
    except OSError:
        os.close(events)
        raise
    return events
