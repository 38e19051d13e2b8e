"""A seccomp filter for the sandbox, written as a classic-BPF program by hand (no libseccomp).

bubblewrap loads it with ``--seccomp FD`` just before it runs the sandboxed command, so it binds
the student's process and every process it starts. It denies the system calls that reach state
shared beyond the sandbox or memory outside its limits, and lets everything else through:

- the kernel keyrings (``keyctl``, ``add_key``, ``request_key``): a uid's keyring outlives its
  processes, a channel from one submission to the next in the same slot;
- new namespaces (``unshare``, ``setns``, ``clone`` with any ``CLONE_NEW*`` flag) and mounts
  (``mount``, the new mount API, ``pivot_root``): inside a user namespace of its own a process
  could mount a tmpfs of any size;
- memory that ``RLIMIT_AS`` does not count: ``memfd_create``, ``memfd_secret``, SysV shared
  memory and message queues (``shmget``, ``msgget``);
- CPUs beyond those the grader gave the sandbox (``sched_setaffinity``): a grading job pinned
  to one core keeps its processes there, whatever they do;
- kernel attack surface a student never needs: ``bpf``, ``perf_event_open``, ``userfaultfd``,
  ``io_uring_*``, ``ptrace`` and ``process_vm_*``, ``pidfd_getfd``, module and ``kexec``
  loading, ``fanotify_init``, ``syslog``, ``acct``, ``quotactl``, ``swapon``/``swapoff``,
  ``reboot``.

Denied calls fail with ``EPERM``; ``clone3`` fails with ``ENOSYS`` (its flags live in memory that
a filter cannot read), which makes glibc fall back to ``clone``. A call from another ABI than the
native one (``int 0x80`` on x86-64, x32, AArch32) fails with ``ENOSYS``.
"""

from __future__ import annotations

import errno
import platform
import struct

__all__ = ["DENIED", "filter_program", "supported"]

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_NR, _ARCH, _ARG0_LO = 0, 4, 16

# classic BPF opcodes (linux/filter.h, linux/bpf_common.h)
_LD_W_ABS = 0x00 | 0x00 | 0x20
_JEQ_K = 0x05 | 0x10
_JGE_K = 0x05 | 0x30
_JSET_K = 0x05 | 0x40
_RET_K = 0x06

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000

_AUDIT_ARCH_X86_64 = 0xC000003E
_AUDIT_ARCH_AARCH64 = 0xC00000B7
_X32_SYSCALL_BIT = 0x40000000

#: ``CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
#: | CLONE_NEWNET | CLONE_NEWTIME``
CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
CLONE_NEW_FLAGS |= 0x20000000 | 0x40000000 | 0x00000080

#: The system calls that fail with EPERM, by name.
DENIED = (
    *("keyctl", "add_key", "request_key"),
    *("unshare", "setns", "mount", "umount2", "pivot_root"),
    *("open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"),
    *("memfd_create", "memfd_secret", "shmget", "msgget"),
    *("bpf", "perf_event_open", "userfaultfd"),
    *("io_uring_setup", "io_uring_enter", "io_uring_register"),
    *("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd"),
    *("kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module"),
    *("fanotify_init", "syslog", "acct", "quotactl", "swapon", "swapoff", "reboot"),
    "sched_setaffinity",
)

# System call numbers (asm/unistd_64.h on x86-64, asm-generic/unistd.h on AArch64).
_TABLES = {
    "x86_64": (
        _AUDIT_ARCH_X86_64,
        {
            "keyctl": 250,
            "add_key": 248,
            "request_key": 249,
            "unshare": 272,
            "setns": 308,
            "mount": 165,
            "umount2": 166,
            "pivot_root": 155,
            "open_tree": 428,
            "move_mount": 429,
            "fsopen": 430,
            "fsconfig": 431,
            "fsmount": 432,
            "fspick": 433,
            "mount_setattr": 442,
            "memfd_create": 319,
            "memfd_secret": 447,
            "shmget": 29,
            "msgget": 68,
            "bpf": 321,
            "perf_event_open": 298,
            "userfaultfd": 323,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "ptrace": 101,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "pidfd_getfd": 438,
            "kexec_load": 246,
            "kexec_file_load": 320,
            "init_module": 175,
            "finit_module": 313,
            "delete_module": 176,
            "fanotify_init": 300,
            "syslog": 103,
            "acct": 163,
            "quotactl": 179,
            "swapon": 167,
            "swapoff": 168,
            "reboot": 169,
            "sched_setaffinity": 203,
            "clone": 56,
            "clone3": 435,
        },
    ),  # fmt: skip
    "aarch64": (
        _AUDIT_ARCH_AARCH64,
        {
            "keyctl": 219,
            "add_key": 217,
            "request_key": 218,
            "unshare": 97,
            "setns": 268,
            "mount": 40,
            "umount2": 39,
            "pivot_root": 41,
            "open_tree": 428,
            "move_mount": 429,
            "fsopen": 430,
            "fsconfig": 431,
            "fsmount": 432,
            "fspick": 433,
            "mount_setattr": 442,
            "memfd_create": 279,
            "memfd_secret": 447,
            "shmget": 194,
            "msgget": 186,
            "bpf": 280,
            "perf_event_open": 241,
            "userfaultfd": 282,
            "io_uring_setup": 425,
            "io_uring_enter": 426,
            "io_uring_register": 427,
            "ptrace": 117,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "pidfd_getfd": 438,
            "kexec_load": 104,
            "kexec_file_load": 294,
            "init_module": 105,
            "finit_module": 273,
            "delete_module": 106,
            "fanotify_init": 262,
            "syslog": 116,
            "acct": 89,
            "quotactl": 60,
            "swapon": 224,
            "swapoff": 225,
            "reboot": 142,
            "sched_setaffinity": 122,
            "clone": 220,
            "clone3": 435,
        },
    ),  # fmt: skip
}
_TABLES["arm64"] = _TABLES["aarch64"]
_TABLES["amd64"] = _TABLES["x86_64"]


def supported(machine: str | None = None) -> bool:
    """Whether :func:`filter_program` knows the system call table of ``machine``.

    Parameters
    ----------
    machine : str, optional
        As ``platform.machine()`` names it; default this machine.
    """
    return (machine or platform.machine()).lower() in _TABLES


def filter_program(machine: str | None = None) -> bytes:
    """The filter as bubblewrap's ``--seccomp`` reads it: packed ``struct sock_filter`` s.

    Each instruction is ``{u16 code; u8 jt; u8 jf; u32 k}`` in native byte order.

    Parameters
    ----------
    machine : str, optional
        ``"x86_64"`` or ``"aarch64"``; default this machine.

    Returns
    -------
    bytes
        The program, ``8 * n`` bytes.

    Raises
    ------
    ValueError
        For an architecture without a table here (see :func:`supported`).
    """
    machine = (machine or platform.machine()).lower()
    if machine not in _TABLES:
        raise ValueError(f"no seccomp system call table for {machine!r}")
    arch, numbers = _TABLES[machine]
    # Instructions with symbolic jump targets ("ALLOW", "EPERM", "ENOSYS" or None = next).
    prog: list[tuple[int, str | None, str | None, int]] = [
        (_LD_W_ABS, None, None, _ARCH),
        (_JEQ_K, None, "ENOSYS", arch),
        (_LD_W_ABS, None, None, _NR),
    ]
    if arch == _AUDIT_ARCH_X86_64:  # x32 ABI: same arch value, numbers with bit 30 set
        prog.append((_JGE_K, "ENOSYS", None, _X32_SYSCALL_BIT))
    prog += [(_JEQ_K, "EPERM", None, numbers[name]) for name in DENIED]
    prog += [
        (_JEQ_K, "ENOSYS", None, numbers["clone3"]),
        (_JEQ_K, None, "ALLOW", numbers["clone"]),
        (_LD_W_ABS, None, None, _ARG0_LO),  # clone's flags (args[0] on both ABIs)
        (_JSET_K, "EPERM", "ALLOW", CLONE_NEW_FLAGS),
    ]
    labels = {"ALLOW": len(prog), "EPERM": len(prog) + 1, "ENOSYS": len(prog) + 2}
    tail = [
        (_RET_K, 0, 0, _RET_ALLOW),
        (_RET_K, 0, 0, _RET_ERRNO | errno.EPERM),
        (_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS),
    ]
    out = bytearray()
    for i, (code, jt, jf, k) in enumerate(prog):
        offsets = [0 if t is None else labels[t] - i - 1 for t in (jt, jf)]
        assert all(0 <= o < 256 for o in offsets), offsets  # u8 jump offsets
        out += struct.pack("=HBBI", code, *offsets, k)
    for code, jt, jf, k in tail:
        out += struct.pack("=HBBI", code, jt, jf, k)
    return bytes(out)
