"""A throwaway Spark standalone cluster on this machine: one master and N workers as separate JVM processes.

The pip ``pyspark`` package has no ``sbin/start-master.sh``; its ``bin/spark-class`` starts the standalone
``Master`` and ``Worker`` classes directly. Everything binds to 127.0.0.1, each worker has its own work and local
folders, and executors run this interpreter (the virtual environment), as a shipped environment would on a real
cluster. Used by the cluster test and ``benchmarks/bench_cluster.py``; also handy to try the cluster path::

    with StandaloneCluster(workers=2, cores_per_worker=1) as cluster:
        subprocess.run(cluster.submit_command("pipelines/curate.py", "pipelines/demo.yaml", "--output", out))
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from curator.errors import CuratorError


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port(taken: set[int] | None = None) -> int:
    """A port free now and not in ``taken`` (which it joins): ports drawn before their JVM binds them are free
    again, and the kernel may hand the same one out twice (a worker's web UI then answered on the master's)."""
    taken = set() if taken is None else taken
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


class StandaloneCluster:
    def __init__(self, root: str | Path, workers: int = 2, cores_per_worker: int = 1, memory_per_worker: str = "2g",
                 start_timeout_s: float = 180.0):
        self.root = Path(root)
        self.workers, self.cores, self.memory = workers, cores_per_worker, memory_per_worker
        self.start_timeout_s = start_timeout_s
        self._ports: set[int] = set()
        self.port, self.ui_port = free_port(self._ports), free_port(self._ports)
        self.processes: list[subprocess.Popen] = []

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
                   PYSPARK_DRIVER_PYTHON=sys.executable, SPARK_LOG_DIR=str(self.root / "logs"))
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def _spawn(self, name: str, args: list[str], **env: str) -> None:
        log = open(self.root / "logs" / f"{name}.log", "wb")
        self.processes.append(subprocess.Popen([str(spark_home() / "bin" / "spark-class"), *args], stdout=log,
                                               stderr=subprocess.STDOUT, env=self.env(**env)))

    def start(self) -> "StandaloneCluster":
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        self._spawn("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(self.port), "--webui-port", str(self.ui_port)])
        for i in range(self.workers):
            work, local = self.root / f"worker{i}" / "work", self.root / f"worker{i}" / "local"
            work.mkdir(parents=True, exist_ok=True)
            local.mkdir(parents=True, exist_ok=True)
            self._spawn(f"worker{i}", ["org.apache.spark.deploy.worker.Worker", self.master_url, "--host", "127.0.0.1",
                                       "--cores", str(self.cores), "--memory", self.memory, "--work-dir", str(work),
                                       "--webui-port", str(free_port(self._ports))], SPARK_LOCAL_DIRS=str(local))
        try:
            self._wait_for_workers()
        except BaseException:
            self.stop()  # __exit__ does not run when __enter__ fails: no JVM may outlive the error
            raise
        return self

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as response:
            return json.load(response)

    def _wait_for_workers(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                self.stop()
                raise CuratorError(f"a standalone cluster process exited early; see {self.root / 'logs'}")
            try:
                status = self.status()
                alive = [w for w in status.get("workers", []) if w.get("state") == "ALIVE"]
                if status.get("url") == self.master_url and len(alive) >= self.workers:
                    return
            except (OSError, ValueError):  # not listening yet, or not the master's JSON (yet)
                pass
            time.sleep(1.0)
        self.stop()
        raise CuratorError(f"{self.workers} workers did not register within {self.start_timeout_s:.0f} s; "
                           f"see {self.root / 'logs'}")

    def submit_command(self, *app_args: str, master: str | None = None,
                       conf: dict[str, str] | None = None) -> list[str]:
        """A ``spark-submit`` command line against this cluster, or against ``master`` (e.g. ``local[2]``) with the
        same settings (run it with :meth:`env`)."""
        command = [str(spark_home() / "bin" / "spark-submit"), "--master", master or self.master_url,
                   "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                   "--conf", f"spark.executor.memory={self.memory}", "--conf", "spark.ui.enabled=false"]
        for key, value in (conf or {}).items():
            command += ["--conf", f"{key}={value}"]
        return command + list(app_args)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []

    def __enter__(self) -> "StandaloneCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
