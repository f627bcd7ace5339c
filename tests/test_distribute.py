"""`mininet_tf.distribute` and ``train --strategy``: arithmetic and sharding in-process; mirrored
over two logical CPUs, a two-worker job on 127.0.0.1 and a killed-and-restarted worker in
subprocesses (every one with a hard timeout, all killed if a test fails)."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mininet_tf import distribute
from mininet_tf.config import TrainConfig

from .conftest import ROOT

TINY = ["--batch-size", "4", "--patch-size", "32", "--widths", "8", "16", "24", "--verbose", "0"]


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tflite'}", TF_CPP_MIN_LOG_LEVEL="2")
    env.update(CUDA_VISIBLE_DEVICES="", **extra)
    return env


@pytest.fixture
def procs():
    """Subprocesses started by a test; whatever is still running at the end is killed."""
    started = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _report(stdout: str) -> dict:
    """The JSON report `python -m mininet_tf.train` prints last."""
    start = stdout.rfind("\n{")
    text = stdout[start + 1 if start >= 0 else stdout.index("{") :]
    return json.JSONDecoder().raw_decode(text)[0]  # the next-steps lines follow it


# === In-process: cluster facts, arithmetic, sharding, config ===


def test_chief_and_strategy_resolution():
    two = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}}
    assert distribute.is_chief({}) is True
    assert distribute.is_chief({**two, "task": {"type": "worker", "index": 0}}) is True
    assert distribute.is_chief({**two, "task": {"type": "worker", "index": 1}}) is False
    with_chief = {"cluster": {"chief": ["127.0.0.1:3"], **two["cluster"]}}
    assert distribute.is_chief({**with_chief, "task": {"type": "chief", "index": 0}}) is True
    assert distribute.is_chief({**with_chief, "task": {"type": "worker", "index": 0}}) is False
    assert distribute.cluster_size(with_chief) == 3
    assert distribute.resolve_strategy_name("auto", two, gpus=0) == "multi-worker"
    assert distribute.resolve_strategy_name("auto", {}, gpus=4) == "mirrored"
    assert distribute.resolve_strategy_name("auto", {}, gpus=1) == "default"
    assert distribute.resolve_strategy_name("tpu", two, gpus=0) == "tpu"
    with pytest.raises(ValueError, match="strategy"):
        distribute.resolve_strategy_name("horovod", {})
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.read_tf_config({"TF_CONFIG": "{not json"})


def test_batch_and_learning_rate_arithmetic():
    assert distribute.per_replica_batch_size(8, 2) == 4
    assert distribute.per_replica_batch_size(8, 1) == 8
    with pytest.raises(ValueError, match="global batch"):
        distribute.per_replica_batch_size(8, 3)
    assert distribute.scaled_learning_rate(3e-3, 32, 8) == pytest.approx(1.2e-2)
    cfg = TrainConfig(strategy="mirrored", scale_lr=True, lr_reference_batch=4).validate()
    assert cfg.to_dict()["strategy"] == "mirrored"
    for bad in (dict(strategy="horovod"), dict(shard_policy="file"), dict(lr_reference_batch=0)):
        with pytest.raises(ValueError):
            TrainConfig(**bad).validate()


def test_multi_worker_refuses_resume_before_touching_tensorflow():
    with pytest.raises(ValueError, match="restarted with the same command"):
        distribute.setup(TrainConfig(strategy="multi-worker", resume=True))


def test_resume_uses_the_saved_strategy(tmp_path, monkeypatch):
    from mininet_tf import train as train_module

    run = tmp_path / "run"
    run.mkdir()
    saved = TrainConfig(strategy="mirrored", scale_lr=True, out=str(run)).to_dict()
    (run / "config.json").write_text(json.dumps(saved))
    seen = []

    class Stop(Exception):
        pass

    def fake_setup(cfg):
        seen.append(cfg)
        raise Stop

    monkeypatch.setattr(distribute, "setup", fake_setup)
    with pytest.raises(Stop):
        train_module.train(out=str(run), resume=True, verbose=0)
    assert seen[0].strategy == "mirrored" and seen[0].scale_lr


def test_input_sharding_policies():
    """ "off": each pipeline its own stream (pipeline 0 = the single-device stream); "data": the
    pipelines' batches of one step together are exactly the single-device global batch."""
    import dataclasses

    import tensorflow as tf

    from mininet_tf.data import get_split
    from mininet_tf.train import make_train_dataset

    records = get_split("synthetic", None, "train")[:6]
    cfg = TrainConfig(patch_size=32, augment=False, seed=3)

    def make(batch, seed):
        return make_train_dataset(records, dataclasses.replace(cfg, batch_size=batch, seed=seed))

    def batches(ds, n):
        return [x.numpy() for x, _ in ds.take(n)]

    single = batches(make(4, 3), 2)  # one device, global batch 4
    for policy in ("off", "data"):
        streams = [
            batches(
                distribute.pipeline_for(tf.distribute.InputContext(2, i, 2), make, 2, 3, policy), 2
            )
            for i in (0, 1)
        ]
        assert streams[0][0].shape == (2, 32, 32, 3)
        if policy == "off":
            np.testing.assert_array_equal(streams[0][0], single[0][:2])
            assert not np.array_equal(streams[0][0], streams[1][0])
        else:
            for step in range(2):
                both = np.concatenate([streams[0][step], streams[1][step]])
                np.testing.assert_array_equal(both, single[step])


# === Subprocesses: two logical CPUs, two workers, a killed worker ===

MIRRORED_DRIVER = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from mininet_tf.train import train

    out, strategy = sys.argv[1], sys.argv[2]
    report = train(out=out, strategy=strategy, epochs=1, steps_per_epoch=3, batch_size=4,
                   patch_size=32, widths=[8, 16, 24], optimizer="sgd", lr_schedule="constant",
                   learning_rate=0.05, verbose=0)
    model = keras.models.load_model(f"{out}/last.keras", compile=False)
    np.savez(f"{out}/weights.npz", *model.get_weights())
    print(json.dumps(report["distribution"]))
    """
)


def _train_on_two_logical_cpus(out: Path, strategy: str) -> tuple[dict, list]:
    # One process per run: each then sees the same sample stream (tf.data re-randomises an
    # iteration from per-process state, and Keras starts one iteration before training).
    done = subprocess.run(
        [sys.executable, "-c", MIRRORED_DRIVER, str(out), strategy],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(out / "weights.npz") as saved:
        weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    return json.loads(done.stdout.strip().splitlines()[-1]), weights


@pytest.mark.slow
def test_mirrored_two_devices_matches_one_device(tmp_path):
    one, reference = _train_on_two_logical_cpus(tmp_path / "one", "one-device")
    mirrored, weights = _train_on_two_logical_cpus(tmp_path / "mirrored", "mirrored")
    assert (one["replicas"], one["per_replica_batch_size"]) == (1, 4)
    assert (mirrored["replicas"], mirrored["per_replica_batch_size"]) == (2, 2)
    assert mirrored["global_batch_size"] == one["global_batch_size"] == 4
    # Both runs train on the same patches (pipeline 0 keeps the seed). The weights after 3 SGD
    # steps, BatchNorm statistics included, agree up to float rounding: Keras divides each
    # replica's loss by 2 and sums the gradients, and synchronised BatchNorm normalises over
    # the global batch. Measured here: 1.8e-4, the size of the float32 rounding of the
    # synchronised moments alone (E[x^2] - E[x]^2: on one device it differs from the two-pass
    # moments by 2.9e-4). Per-replica BatchNorm statistics differ by 0.17.
    import keras

    from mininet_tf.model import build_mininet

    keras.utils.set_random_seed(0)
    initial = build_mininet(widths=(8, 16, 24)).get_weights()
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(reference, initial, strict=True))
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(reference, weights, strict=True))
    print(f"mirrored vs one device: max weight difference {diff:.1e} (steps moved {moved:.1e})")
    assert moved > 0.05
    assert diff < 1e-3


def _free_ports(n: int) -> list[int]:
    sockets = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Job:
    """A two-worker job on 127.0.0.1: one `python -m mininet_tf.train` process per worker."""

    def __init__(self, root: Path, args: list[str], procs: list):
        self.root, self.args, self.procs = root, args, procs
        self.ports = _free_ports(2)
        self.run_dir = root / "run"
        self.workers: dict[int, subprocess.Popen] = {}
        self.starts = {0: 0, 1: 0}

    def tf_config(self, index: int) -> str:
        cluster = {"worker": [f"127.0.0.1:{p}" for p in self.ports]}
        return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})

    def start(self, index: int) -> None:
        self.starts[index] += 1
        log = self.root / f"worker{index}.{self.starts[index]}"
        cmd = [sys.executable, "-m", "mininet_tf.train", "--strategy", "multi-worker"]
        cmd += ["--out", str(self.run_dir), *self.args]
        proc = subprocess.Popen(
            cmd,
            env=_env(TF_CONFIG=self.tf_config(index)),
            stdout=open(f"{log}.out", "w"),
            stderr=open(f"{log}.err", "w"),
        )
        self.procs.append(proc)
        self.workers[index] = proc

    def output(self, index: int) -> tuple[str, str]:
        log = self.root / f"worker{index}.{self.starts[index]}"
        return Path(f"{log}.out").read_text(), Path(f"{log}.err").read_text()

    def wait(self, index: int, timeout: float) -> int:
        try:
            return self.workers[index].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.workers[index].kill()
            pytest.fail(f"worker {index} still running after {timeout:.0f}s")

    def finish(self, timeout: float = 300) -> list[dict]:
        deadline = time.time() + timeout
        reports = []
        for index in (0, 1):
            code = self.wait(index, max(1.0, deadline - time.time()))
            out, err = self.output(index)
            assert code == 0, f"worker {index} exited {code}:\n{err[-3000:]}"
            reports.append(_report(out))
        return reports


def _check_single_run_directory(root: Path, reports: list[dict], epochs: int) -> None:
    import keras

    import mininet_tf.losses  # noqa: F401  (registers the custom objects of last.keras)
    import mininet_tf.metrics  # noqa: F401

    chief, worker = reports
    assert chief["distribution"]["chief"] and chief["run_dir"] == str(root / "run")
    assert not worker["distribution"]["chief"] and worker["run_dir"] is None
    for report in reports:
        assert (report["distribution"]["workers"], report["distribution"]["replicas"]) == (2, 2)
        assert report["distribution"]["per_replica_batch_size"] == 2
    # Both workers end with the same weights, and the chief's last.keras holds them.
    digest = chief["distribution"]["final_weights_sha256"]
    assert worker["distribution"]["final_weights_sha256"] == digest
    last = keras.models.load_model(root / "run" / "last.keras")
    assert distribute.weights_digest(last) == digest
    # One set of checkpoints: the chief's run directory, nothing else, no leftover backup.
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["run"]
    run = root / "run"
    for name in ("best.keras", "last.keras", "log.csv", "state.json", "report.json"):
        assert (run / name).is_file(), name
    assert not (run / distribute.BACKUP_DIR).exists()
    assert json.loads((run / "state.json").read_text())["epochs_done"] == epochs
    rows = (run / "log.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(epochs))


@pytest.mark.slow
def test_two_workers_train_identically_with_one_set_of_checkpoints(tmp_path, procs):
    job = Job(tmp_path, ["--epochs", "2", "--steps-per-epoch", "3", *TINY], procs)
    job.start(0)
    job.start(1)
    reports = job.finish(timeout=360)
    _check_single_run_directory(tmp_path, reports, epochs=2)
    assert reports[0]["epochs_run"] == reports[1]["epochs_run"] == 2


@pytest.mark.slow
def test_killed_worker_is_restarted_and_the_job_finishes(tmp_path, procs):
    epochs = 2
    job = Job(tmp_path, ["--epochs", str(epochs), "--steps-per-epoch", "8", *TINY], procs)
    job.start(0)
    job.start(1)
    meta = job.run_dir / distribute.BACKUP_DIR / "training_metadata.json"
    deadline = time.time() + 300
    while not (meta.is_file() and json.loads(meta.read_text())["epoch"] >= 1):
        if time.time() > deadline:
            pytest.fail("the first epoch's backup did not appear in time")
        for index, proc in job.workers.items():
            if proc.poll() is not None:
                pytest.fail(f"worker {index} ended early:\n{job.output(index)[1][-3000:]}")
        time.sleep(0.1)
    # Epoch 1 is backed up; the chief saves the backup last, so the job is now in epoch 2.
    job.workers[1].send_signal(signal.SIGKILL)
    killed = time.time()
    job.workers[1].wait(timeout=30)
    assert json.loads(meta.read_text())["epoch"] == 1

    # What happens to the survivor: TensorFlow's coordination service notices the missing
    # heartbeats of worker 1 (seconds; MultiWorkerMirroredStrategy's own health check would
    # within 30 s), aborts the collectives, and train exits with EXIT_RESTART.
    code = job.wait(0, timeout=180)
    print(f"survivor exited {code} {time.time() - killed:.0f} s after the kill")
    err = job.output(0)[1]
    assert code == distribute.EXIT_RESTART, err[-3000:]
    assert "lost a peer" in err and "Traceback" not in err
    assert json.loads(meta.read_text())["epoch"] == 1  # no epoch finished without worker 1

    # The cluster manager restarts the stopped workers with the same command and TF_CONFIG.
    job.start(0)
    job.start(1)
    reports = job.finish(timeout=360)
    for index in (0, 1):
        assert "resuming after epoch 1" in job.output(index)[0]
    assert reports[0]["epochs_run"] == reports[1]["epochs_run"] == epochs - 1
    _check_single_run_directory(tmp_path, reports, epochs=epochs)
