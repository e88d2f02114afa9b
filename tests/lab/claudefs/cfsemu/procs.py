"""Process helpers: start detached, find, signal and wait for processes by pid file.

A pid file alone is not trusted: before signalling, the process's command line must contain a
marker (the cluster.json path), so a recycled pid of some other program is never killed.
"""

import os
import signal
import subprocess
import time


def read_pid(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return handle.read().replace(b'\0', b' ').decode(errors='replace')
    except OSError:
        return ''


def _state(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid):
    """True if the process exists and is not a zombie (a zombie of ours is reaped here)."""
    if not pid:
        return False
    state = _state(pid)
    if state is None:
        return False
    if state == 'Z':
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True


def owned(pid, marker):
    """The process is alive and its command line names ``marker``."""
    return alive(pid) and marker in cmdline(pid)


def find(marker):
    """Pids of live processes whose command line contains ``marker`` (e.g. a state dir's
    cluster.json path: only that instance's processes name it)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit() and int(entry) != os.getpid() and marker in cmdline(int(entry)):
            if alive(int(entry)):
                found.append(int(entry))
    return sorted(found)


def spawn(argv, log_path, pid_path, env=None, cwd=None):
    """Start ``argv`` in its own session (it outlives the caller), output to ``log_path``."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, 'ab') as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                                cwd=cwd or '/')
    with open(pid_path, 'w') as handle:
        handle.write('%d\n' % proc.pid)
    return proc


def signal_and_wait(pid, sig, timeout=10.0, marker=None):
    """Send ``sig`` and wait for the process to be gone.  Returns True when it is gone."""
    if not alive(pid) or (marker and marker not in cmdline(pid)):
        return True
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return not alive(pid)


def terminate(pid, marker=None, timeout=10.0):
    """SIGTERM, then SIGKILL after ``timeout``."""
    if signal_and_wait(pid, signal.SIGTERM, timeout, marker):
        return True
    return signal_and_wait(pid, signal.SIGKILL, 5.0, marker)
