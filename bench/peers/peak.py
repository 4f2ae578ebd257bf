"""The peak memory of this process, which every peer reports with its results.

The peers import it from their own folder (a script's folder is on
sys.path), so it needs no package.
"""

import resource


def peak_memory():
    """ru_maxrss and, on Linux, VmHWM, in KiB."""
    rec = {"ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rec["vm_hwm_kb"] = int(line.split()[1])
    return rec
