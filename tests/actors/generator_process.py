"""A generator hosted in a child process, for tests: vLLM pins the OpenMP threads of the
process that hosts its engine (and ignores `torch.set_num_threads` there afterwards),
which must not leak into the rest of the test session.

    with GeneratorProcess("vllm", model_dir, seed=0) as gen:
        gen.generate(prompts, 4, params); gen.load_state_dict(state, 3); gen.version

Run as a script, it is the child: `python generator_process.py SOCKET BACKEND MODEL_DIR SEED`.
Calls and results (completions, exceptions) travel over a Unix socket, pickled by plain
`pickle` (multiprocessing's pickler would pass tensors by shared memory, which only its
own child processes can open).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Client, Listener
from pathlib import Path


class GeneratorProcess:
    def __init__(self, backend: str, model_dir: str, seed: int | None = 0):
        self._dir = tempfile.TemporaryDirectory(prefix="zeroplay-gen-")
        address = str(Path(self._dir.name) / "socket")
        self._child = subprocess.Popen(
            [sys.executable, __file__, address, backend, model_dir, str(seed)],
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        while not os.path.exists(address):
            self._check_alive()
            time.sleep(0.1)
        self._conn = Client(address, family="AF_UNIX")
        self._answer()  # the engine is up

    def _check_alive(self) -> None:
        if self._child.poll() is not None:
            raise RuntimeError(f"the generator process exited with {self._child.returncode}")

    def _answer(self):
        while not self._conn.poll(1.0):
            self._check_alive()
        status, value = pickle.loads(self._conn.recv_bytes())
        if status == "error":
            raise value
        return value

    def _ask(self, kind: str, name: str, *args):
        self._conn.send_bytes(pickle.dumps((kind, name, args)))
        return self._answer()

    def generate(self, prompts, n, params):
        return self._ask("call", "generate", prompts, n, params)

    def load_state_dict(self, state, version):
        return self._ask("call", "load_state_dict", state, version)

    def weights_digest(self):
        return self._ask("call", "weights_digest")

    @property
    def version(self):
        return self._ask("get", "version")

    @property
    def seed(self):
        return self._ask("get", "seed")

    @seed.setter
    def seed(self, value):
        self._ask("set", "seed", value)

    def close(self) -> None:
        try:
            self._conn.send_bytes(pickle.dumps(None))
            self._child.wait(timeout=60)
        except Exception:
            self._child.kill()
        self._dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _serve(address: str, backend: str, model_dir: str, seed: str) -> None:
    from zeroplay.actors.generation import make_generator
    from zeroplay.config import Config

    cfg = Config().model_copy(update={"policy": Config().policy.model_copy(
        update={"model": model_dir}), "rollout": Config().rollout.model_copy(
        update={"backend": backend})})
    with Listener(address, family="AF_UNIX") as listener, listener.accept() as conn:
        try:
            generator = make_generator(cfg, seed=None if seed == "None" else int(seed))
        except Exception as exc:
            conn.send_bytes(pickle.dumps(("error", exc)))
            return
        conn.send_bytes(pickle.dumps(("ok", None)))
        while (message := pickle.loads(conn.recv_bytes())) is not None:
            kind, name, args = message
            try:
                if kind == "call":
                    value = getattr(generator, name)(*args)
                elif kind == "set":
                    value = setattr(generator, name, *args)
                else:
                    value = getattr(generator, name)
                answer = ("ok", value)
            except Exception as exc:  # the test sees the generator's own exception
                answer = ("error", exc)
            conn.send_bytes(pickle.dumps(answer))


if __name__ == "__main__":
    _serve(*sys.argv[1:])
