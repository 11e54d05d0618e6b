#!/usr/bin/python3
"""Runs a command and writes what it cost as JSON: wall seconds, user and system CPU seconds, and
peak RSS, for the child and every descendant it waited for (the kernel's wait4 rusage).

  /usr/bin/python3 bench/measure.py RESULT.json [--cpus 1,2] -- COMMAND [ARGS...]

--cpus runs the command on those CPUs only (sched_setaffinity before it starts; its threads and
children inherit it). Exits with the command's exit code (128 + signal if it was killed). Used
instead of /usr/bin/time, which is a separate Debian package (`time`) that a clean machine may
lack; python3 is there because python3-libtorrent is.
"""

import json
import os
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    cpus = None
    if len(args) >= 3 and args[1] == "--cpus":
        cpus = {int(c) for c in args[2].split(",")}
        args = args[:1] + args[3:]
    if len(args) < 3 or args[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    result_path, command = args[0], args[2:]
    started = time.monotonic()
    try:
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus is not None else None
        child = subprocess.Popen(command, preexec_fn=pin)
    except OSError as err:
        with open(result_path, "w") as f:
            json.dump({"error": f"cannot run {command[0]}: {err}"}, f)
        return 127
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    with open(result_path, "w") as f:
        json.dump(
            {
                "wallSeconds": wall,
                "userSeconds": usage.ru_utime,
                "systemSeconds": usage.ru_stime,
                # Linux reports ru_maxrss in KiB.
                "maxRssKiB": usage.ru_maxrss,
                "exitCode": code,
            },
            f,
        )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
