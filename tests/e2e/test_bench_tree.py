"""The benchmark's memory is summed over the measured process and its workers: the descendants read from the
tasks' ``children`` files are those a scan of every /proc entry finds (grandchildren included)."""

import subprocess
import sys
import time

from tools import bench


def test_descendants_by_children_files_match_the_whole_proc_scan():
    code = ("import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "
            "print(p.pid, flush=True); time.sleep(30)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        grandchild = int(parent.stdout.readline())
        time.sleep(0.2)
        tree = bench._descendants(parent.pid)
        assert {parent.pid, grandchild} <= tree
        assert tree == bench._descendants_by_scan(parent.pid)
        assert bench._tree_rss_mib(parent.pid) > bench._tree_rss_mib(grandchild) > 0
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()
