"""gunicorn settings of every benchmark server: each worker reports once it has loaded the application.

Workers import the application after the fork (no --preload, as `make run` serves it), which takes seconds;
the bench waits for both reports before measuring, so no run starts with a worker still importing.
"""
import os


def post_worker_init(worker) -> None:
    """Leave a file named after the worker's PID in $BENCH_READY_DIR."""
    ready_dir = os.environ.get("BENCH_READY_DIR")
    if ready_dir:
        open(os.path.join(ready_dir, str(worker.pid)), "w").close()
