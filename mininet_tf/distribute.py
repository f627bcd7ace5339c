"""Training on several devices, machines or TPU cores with TensorFlow's ``tf.distribute``.

`mininet_tf.train` uses this module for ``--strategy``; nothing here reimplements distribution:
the strategies, collectives and distributed datasets are TensorFlow's own. What this module adds
is the policy around them (see ``docs/distributed.md``):

* **strategy from a name** (`make_strategy`): ``one-device`` (``OneDeviceStrategy``),
  ``mirrored`` (``MirroredStrategy`` over all local GPUs), ``multi-worker``
  (``MultiWorkerMirroredStrategy``, cluster from ``TF_CONFIG``), ``tpu`` (``TPUStrategy``) and
  ``auto`` (multi-worker when ``TF_CONFIG`` names more than one task, mirrored with more than
  one GPU, else TensorFlow's default strategy, i.e. exactly the single-device code path);
* **batch arithmetic**: ``--batch-size`` is the *global* batch of one optimizer step; each of the
  ``R`` replicas gets ``batch_size / R`` samples (`per_replica_batch_size`). Keras divides every
  replica's mean loss by ``R`` and sums the gradients, so a step is the same step as on one
  device with the global batch; with ``--sync-batchnorm`` (default) BatchNorm statistics are
  computed over the global batch too (`synchronize_batchnorm`);
* **learning-rate scaling** (`scaled_learning_rate`, off by default): with ``--scale-lr`` the
  linear scaling rule ``lr * batch_size / lr_reference_batch``;
* **input sharding** (`distribute_dataset`): every input pipeline (one per worker) builds the
  per-replica batches of its replicas with ``distribute_datasets_from_function``; TensorFlow's
  auto-sharding is switched off and one of two policies applies (``--shard-policy``):
  ``off`` -- every pipeline samples its own random patches from a seed of its own (no work is
  wasted), or ``data`` -- every pipeline builds the same stream and keeps every n-th batch
  (exactly the sample stream of one device, at n times the decoding/augmentation work);
* **chief-only checkpoints and fault tolerance** (`ChiefBackupAndRestore`): in a multi-worker
  job only the chief writes the run directory and the backup; a restarted job restores the
  chief's backup and broadcasts it to every worker, so all workers resume from the same epoch
  with the same weights and optimizer state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from mininet_tf.data.records import atomic_write_text

__all__ = [
    "BACKUP_DIR",
    "EXIT_RESTART",
    "SHARD_POLICIES",
    "STRATEGIES",
    "ChiefBackupAndRestore",
    "Cluster",
    "WorkerFailure",
    "barrier",
    "broadcast_from_chief",
    "broadcast_int_from_chief",
    "cluster_size",
    "distribute_dataset",
    "failure_summary",
    "is_chief",
    "is_peer_failure",
    "make_strategy",
    "per_replica_batch_size",
    "pipeline_for",
    "read_tf_config",
    "resolve_strategy_name",
    "scaled_learning_rate",
    "setup",
    "synchronize_batchnorm",
    "task_of",
    "weights_digest",
]

STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker", "tpu")
SHARD_POLICIES = ("off", "data")

#: Seed offset between input pipelines under ``--shard-policy off`` (pipeline 0 keeps the seed,
#: so a single-pipeline strategy samples the same stream as a plain single-device run).
PIPELINE_SEED_STRIDE = 1_000_003

#: Folder of the chief's fault-tolerance backup inside the run directory. It exists while a
#: multi-worker job is unfinished (created before the first step, deleted after the last), and
#: its presence is what lets a restarted chief reopen the run directory.
BACKUP_DIR = "backup"

#: Exit status of ``python -m mininet_tf.train`` when a peer of a multi-worker job failed:
#: restart this worker (and the others that stopped) with the same command to resume.
EXIT_RESTART = 75


class WorkerFailure(RuntimeError):
    """A multi-worker job lost a peer: restart the stopped workers with the same command."""


# === Cluster facts from TF_CONFIG ===


def read_tf_config(environ=None) -> dict:
    """The parsed ``TF_CONFIG`` environment variable ({} when unset or empty)."""
    text = (os.environ if environ is None else environ).get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"TF_CONFIG is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ValueError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    return config


def cluster_size(tf_config: dict) -> int:
    """Number of training tasks (chief + workers) in a ``TF_CONFIG``."""
    cluster = tf_config.get("cluster", {})
    return sum(len(cluster.get(job, [])) for job in ("chief", "worker"))


def task_of(tf_config: dict) -> tuple[str, int]:
    """(task type, index) of this process; ("worker", 0) without ``TF_CONFIG``."""
    task = tf_config.get("task", {})
    return str(task.get("type", "worker")), int(task.get("index", 0))


def is_chief(tf_config: dict | None = None) -> bool:
    """Whether this process writes checkpoints and logs: the "chief" task if the cluster has
    one, else worker 0 (TensorFlow's convention). True without ``TF_CONFIG``."""
    tf_config = read_tf_config() if tf_config is None else tf_config
    task_type, index = task_of(tf_config)
    if task_type == "chief":
        return True
    if "chief" in tf_config.get("cluster", {}):
        return False
    return task_type == "worker" and index == 0


def resolve_strategy_name(name: str, tf_config: dict | None = None, gpus: int | None = None):
    """The concrete strategy behind ``name``; "auto" becomes "multi-worker" (TF_CONFIG with more
    than one task), "mirrored" (more than one GPU) or "default" (TensorFlow's default strategy:
    one device, no distribution wrapper -- the behaviour of runs before ``--strategy``)."""
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")
    if name != "auto":
        return name
    tf_config = read_tf_config() if tf_config is None else tf_config
    if cluster_size(tf_config) > 1:
        return "multi-worker"
    if gpus is None:
        gpus = len(tf.config.list_physical_devices("GPU"))
    return "mirrored" if gpus > 1 else "default"


_STRATEGIES: dict[str, tf.distribute.Strategy] = {}


def make_strategy(name: str) -> tf.distribute.Strategy:
    """A ``tf.distribute.Strategy`` for a resolved strategy name, created once per process.

    Must run before TensorFlow executes anything else in the process (the multi-worker strategy
    configures collective ops at start-up). ``mirrored`` uses every local GPU; on a machine with
    no GPU it uses every logical CPU device (one, unless the process split its CPU, as the tests
    do). ``tpu`` connects to ``$TPU_NAME`` (default "local", the TPU of a TPU VM).

    Later calls with the same name return the same strategy: TensorFlow supports one
    multi-worker strategy per process, and two live mirrored strategies over the same devices
    can mix up their collective instances.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name not in _STRATEGIES:
        _STRATEGIES[name] = _new_strategy(name)
    return _STRATEGIES[name]


def _new_strategy(name: str) -> tf.distribute.Strategy:
    if name == "one-device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multi-worker":
        return _MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
            tpu=os.environ.get("TPU_NAME", "local")
        )
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"unknown strategy {name!r}")


class _MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """``MultiWorkerMirroredStrategy`` with the ``reduce`` that Keras 3's ``fit`` expects.

    Keras 3 (3.7 to 3.15 at least, keras-team/keras#20585) calls ``strategy.reduce`` in two
    ways that ``MultiWorkerMirroredStrategy`` rejects: on a nested ``(image, mask)`` sample batch
    before tracing ("Attempt to convert a value (PerReplica...) to a Tensor"), and with ``axis=0``
    on the scalar loss and metrics of every step ("Invalid reduction dimension 0 for input with
    0 dimensions"). This subclass reduces nested structures leaf by leaf and scalars across
    replicas only, which is what the single-machine strategies do; nothing else changes.
    """

    def reduce(self, reduce_op, value, axis):
        if isinstance(value, tuple | list | dict):
            parent = super()
            return tf.nest.map_structure(lambda v: parent.reduce(reduce_op, v, axis), value)
        if axis is not None and _rank(value) == 0:
            axis = None
        return super().reduce(reduce_op, value, axis)


def _rank(value):
    if isinstance(value, tf.distribute.DistributedValues):
        value = value.values[0]
    shape = getattr(value, "shape", None)
    return None if shape is None else shape.rank


# === Batch and learning-rate arithmetic ===


def per_replica_batch_size(global_batch: int, replicas: int) -> int:
    """Samples per replica per step; the global batch must split evenly over the replicas."""
    if global_batch % replicas:
        raise ValueError(
            f"batch_size {global_batch} is the global batch and must be a multiple of the "
            f"{replicas} replicas in sync (each gets batch_size / {replicas})"
        )
    return global_batch // replicas


def scaled_learning_rate(learning_rate: float, global_batch: int, reference_batch: int) -> float:
    """Linear scaling rule: the learning rate tuned at ``reference_batch``, times
    ``global_batch / reference_batch``."""
    return float(learning_rate) * global_batch / reference_batch


# === The cluster of one run ===


@dataclass
class Cluster:
    """The strategy of a run and the facts the training loop needs about it."""

    name: str  # resolved: default | one-device | mirrored | multi-worker | tpu
    strategy: tf.distribute.Strategy
    chief: bool
    task: tuple[str, int]
    workers: int  # input pipelines (hosts / worker processes)
    replicas: int  # replicas in sync (devices over all workers)

    @property
    def multi_worker(self) -> bool:
        return self.name == "multi-worker"

    @property
    def distributed(self) -> bool:
        """True for every explicit strategy (the data goes through a distributed dataset)."""
        return self.name != "default"

    def scope(self):
        return self.strategy.scope() if self.distributed else contextlib.nullcontext()

    def backup_dir(self, run_dir) -> Path:
        return Path(run_dir) / BACKUP_DIR

    def unfinished_job(self, run_dir) -> bool:
        """A multi-worker job interrupted in this run directory, to be reopened by its chief."""
        return self.multi_worker and self.backup_dir(run_dir).is_dir()

    def describe(self) -> dict:
        return {
            "strategy": self.name,
            "task": f"{self.task[0]}:{self.task[1]}",
            "chief": self.chief,
            "workers": self.workers,
            "replicas": self.replicas,
        }


def setup(cfg) -> Cluster:
    """Create the strategy of ``cfg.strategy`` and check the config against it."""
    tf_config = read_tf_config()
    name = resolve_strategy_name(cfg.strategy, tf_config)
    multi = name == "multi-worker"
    if multi and cfg.resume:
        raise ValueError(
            "--resume is for single-process runs; a multi-worker job resumes by itself from "
            f"its backup (<out>/{BACKUP_DIR}) when its workers are restarted with the same command"
        )
    strategy = make_strategy(name)
    workers = max(1, cluster_size(tf_config)) if multi else 1
    if name == "tpu":
        workers = strategy.extended.num_hosts
    cluster = Cluster(
        name=name,
        strategy=strategy,
        chief=is_chief(tf_config) if multi else True,
        task=task_of(tf_config) if multi else ("worker", 0),
        workers=workers,
        replicas=strategy.num_replicas_in_sync,
    )
    per_replica_batch_size(cfg.batch_size, cluster.replicas)
    return cluster


# === Model ===


def _walk_layers(layer):
    for child in getattr(layer, "layers", []):
        yield child
        yield from _walk_layers(child)


def synchronize_batchnorm(model) -> int:
    """Make every BatchNormalization layer compute its batch statistics over the global batch
    (all replicas) instead of each replica's share; returns how many layers changed.

    Call before the model is traced for training. Without it, a replica with 2 of a global batch
    of 8 normalises with the statistics of 2 samples, and the step differs from a single-device
    step. It costs one all-reduce of the per-channel sums per BatchNorm layer and step: cheap
    between the GPUs of one machine or TPU cores, noticeable between machines.
    """
    changed = 0
    for layer in _walk_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized:
            layer.synchronized = True
            changed += 1
    return changed


def weights_digest(model) -> str:
    """SHA-256 of the model's weights (bytes, in order): equal digests = identical weights."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


# === Input ===


def distribute_dataset(cluster: Cluster, make, global_batch: int, seed: int, shard_policy="off"):
    """A distributed training dataset: ``make(batch_size, seed)`` builds one pipeline.

    One pipeline runs per worker (TPU: per host) and yields the per-replica batches of that
    worker's replicas (``global_batch / replicas`` samples each). Our pipeline decodes every image
    once into an in-memory cache and then samples random patches from an endless seeded stream,
    so TensorFlow's file-level sharding (``AutoShardPolicy.FILE``) has nothing to split -- the
    pipeline starts from record indices, not from file-reading ops -- and auto-sharding is
    switched off in favour of an explicit policy:

    * ``"off"``: pipeline ``i`` samples with ``seed + i * PIPELINE_SEED_STRIDE``. Workers draw
      independent patches of all training images; nothing is decoded or augmented in vain.
    * ``"data"``: every pipeline builds the same stream and keeps batches ``i, i + n, ...``
      (TensorFlow's ``AutoShardPolicy.DATA``, made explicit): the union over the workers of one
      step is exactly the global batch a single device would see, at the price of every worker
      decoding and augmenting the whole stream.
    """
    if shard_policy not in SHARD_POLICIES:
        raise ValueError(f"shard_policy must be one of {SHARD_POLICIES}, got {shard_policy!r}")
    static = cluster.name == "tpu"

    def dataset_fn(context: tf.distribute.InputContext):
        batch = context.get_per_replica_batch_size(global_batch)
        return pipeline_for(context, make, batch, seed, shard_policy, static)

    return cluster.strategy.distribute_datasets_from_function(dataset_fn)


def pipeline_for(context, make, batch: int, seed: int, shard_policy: str, static=False):
    """The dataset of input pipeline ``context.input_pipeline_id`` (see `distribute_dataset`)."""
    pipelines, index = context.num_input_pipelines, context.input_pipeline_id

    def build(_):
        if shard_policy == "off":
            return make(batch, seed + PIPELINE_SEED_STRIDE * index)
        ds = make(batch, seed)
        return ds.shard(pipelines, index) if pipelines > 1 else ds

    # Each iteration builds its pipeline afresh (same seeds, hence the same stream). Keras' fit
    # takes one batch from the dataset under a strategy (to build the metrics) and then starts
    # over; our pipeline reseeds every repetition of its shuffle from a generator that all
    # iterations of one dataset object share, so the training stream would otherwise depend on
    # how far that first iteration had prefetched: not reproducible. The price is that the
    # images are decoded twice at the start of fit.
    ds = tf.data.Dataset.range(1).flat_map(build)
    if static:  # TPUs compile for static shapes; the endless patch stream only has full batches
        ds = ds.map(
            lambda *t: tuple(tf.ensure_shape(x, [batch, *x.shape[1:]]) for x in t),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options)


# === Collectives between workers ===


def _all_reduce_from_first_replica(strategy, values):
    """Every replica receives the values of global replica 0 (the chief's first device)."""

    def replica_fn(*tensors):
        context = tf.distribute.get_replica_context()
        first = tf.equal(context.replica_id_in_sync_group, 0)
        masked = [tf.where(first, t, tf.zeros_like(t)) for t in tensors]
        return context.all_reduce(tf.distribute.ReduceOp.SUM, masked)

    results = tf.function(lambda *t: strategy.run(replica_fn, args=t))(*values)
    return [strategy.experimental_local_results(r)[0] for r in results]


def broadcast_from_chief(strategy, variables) -> None:
    """Assign the chief's values of ``variables`` on every worker (a collective: every worker
    must call it with the same variables in the same order)."""
    variables = list(variables)
    if not variables:
        return
    values = [tf.cast(tf.convert_to_tensor(v), tf.float64) for v in variables]
    received = _all_reduce_from_first_replica(strategy, values)
    for variable, value in zip(variables, received, strict=True):
        variable.assign(tf.cast(value, variable.dtype))


def broadcast_int_from_chief(strategy, value: int) -> int:
    """The chief's ``value`` on every worker (a collective)."""
    (received,) = _all_reduce_from_first_replica(strategy, [tf.constant(float(value), tf.float64)])
    return int(round(float(received)))


def barrier(strategy) -> None:
    """Wait until every worker got here (a collective)."""
    _all_reduce_from_first_replica(strategy, [tf.zeros([], tf.float64)])


# === Fault tolerance ===


class ChiefBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` for a multi-worker job: chief-only, atomic, shared.

    Keras 3's callback writes a backup on every worker and each worker restores its own; a
    worker killed while the others were saving then resumes from a different epoch than they do.
    Here, on every worker (the callback must run on all of them):

    * at each epoch end only the chief writes ``<run_dir>/backup``: the weights with the optimizer
      state to a new file, then ``training_metadata.json`` naming it (atomic rename), so a kill
      at any moment leaves the previous or the new backup, never a mix;
    * `restore` (before ``fit``) loads the chief's backup on the chief and broadcasts its epoch,
      weights and optimizer variables to every worker;
    * at the end of training the chief deletes the backup (``delete_checkpoint``).
    """

    def __init__(self, backup_dir, chief: bool, strategy, delete_checkpoint=True):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=delete_checkpoint)
        self.chief, self.strategy = chief, strategy

    @property
    def metadata_path(self) -> Path:
        return Path(self.backup_dir) / "training_metadata.json"

    def read_epoch(self) -> tuple[int, Path | None]:
        """(epochs finished, weights file) of the backup on this machine; (0, None) if none."""
        if not self.metadata_path.is_file():
            return 0, None
        meta = json.loads(self.metadata_path.read_text())
        weights = Path(self.backup_dir) / meta["weights"]
        return int(meta["epoch"]), weights if weights.is_file() else None

    def restore(self, model) -> int:
        """Resume point of the job (epochs finished); a collective on every worker.

        Call outside ``strategy.scope()``: Keras' ``load_weights`` creates throw-away variables,
        and inside the scope every variable creation is a broadcast all workers must join.
        """
        if model.optimizer is not None and not model.optimizer.built:
            with self.strategy.scope():  # on every worker: variable creation is a collective
                model.optimizer.build(model.trainable_variables)
        epoch = 0
        if self.chief:
            Path(self.backup_dir).mkdir(parents=True, exist_ok=True)
            epoch, weights = self.read_epoch()
            if epoch and weights is not None:
                model.load_weights(weights)
            else:
                epoch = 0
        epoch = broadcast_int_from_chief(self.strategy, epoch)
        if epoch:
            optimizer_variables = model.optimizer.variables if model.optimizer else []
            broadcast_from_chief(self.strategy, [*model.weights, *optimizer_variables])
        self._current_epoch = epoch
        return epoch

    def on_train_begin(self, logs=None):
        pass  # restoring is done by `restore`, before fit builds its input pipeline

    def _save_model(self):
        if not self.chief:
            return
        backup = Path(self.backup_dir)
        backup.mkdir(parents=True, exist_ok=True)
        old = self.read_epoch()[1]
        name = f"epoch{self._current_epoch:05d}.weights.h5"
        self.model.save_weights(backup / name, overwrite=True)
        meta = {"epoch": self._current_epoch, "weights": name}
        atomic_write_text(Path(self.metadata_path), json.dumps(meta))
        if old is not None and old.name != name:
            old.unlink(missing_ok=True)

    def on_train_end(self, logs=None):
        if self.chief and self.delete_checkpoint and Path(self.backup_dir).exists():
            import shutil

            shutil.rmtree(self.backup_dir, ignore_errors=True)


def failure_summary(exc: BaseException) -> str:
    """The informative line of a TensorFlow error (the first one is often "Graph execution
    error:")."""
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", str(exc))  # {{function_node ...}} prefixes
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    keys = ("unhealthy", "is down", "aborted", "unavailable", "connect")
    for line in lines:
        if any(key in line.lower() for key in keys):
            return f"{type(exc).__name__}: {line}"
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def is_peer_failure(exc: BaseException) -> bool:
    """Whether an exception raised during multi-worker training means a peer went away."""
    return isinstance(
        exc,
        tf.errors.UnavailableError
        | tf.errors.CancelledError
        | tf.errors.DeadlineExceededError
        | tf.errors.AbortedError
        | tf.errors.InternalError
        | tf.errors.FailedPreconditionError,
    )
