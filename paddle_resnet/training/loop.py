"""The training loop: build everything from a ``TrainConfig``, run the epochs, checkpoint, report.

What it builds comes from its neighbours: the checked datasets and loaders from ``datasets``, the model,
schedule and optimizer from ``factories``, the exported model from ``exporting``; this module orchestrates.
A plain loop rather than ``paddle.Model`` (hapi): checkpointing the optimizer and schedule, exact resume and
data-parallel sharding all need hooks into the loop that are clearer written out than configured.
"""

from __future__ import annotations

import contextlib
import math
import random
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import paddle
import paddle.nn.functional as F

from .._checks import check_threads
from .._errors import PaddleResNetError
from .._progress import counted
from .._quiet import batchnorm_note_silenced
from .._rundir import BEST, LAST
from ..deploy.export import export
from . import checkpoint as ckpt
from . import cifar, distributed, rundir, schedules
from .config import BASE_LR, TrainConfig, check_resumable, cpu_threads, planned_epochs, total_steps
from .data import (SPLIT_RULE, BadDataError, EpochBatchSampler, ImageFolder, pixel_mean, read_images,
                   train_transform, validation_transform)
from .datasets import load_data, make_loader
from .distributed import init_distributed
from .exporting import export_best, export_run, needs_export
from .factories import build_model, build_optimizer, build_schedule, model_options, step_milestones
from .report import Progress, plot_metrics, write_metrics_csv

# Re-exported: these names were defined here before the loop was split along its seams; import them from their
# modules (datasets, factories, exporting) in new code.
__all__ = ["TrainResult", "TrainingDiverged", "build_model", "build_optimizer", "build_schedule", "evaluate",
           "export_best", "export_run", "load_data", "model_options", "needs_export", "replan_schedule",
           "restore_checkpoint", "step_milestones", "train", "train_one_epoch"]


class TrainingDiverged(PaddleResNetError, ValueError):
    """The loss became NaN or infinite: the weights are no longer usable, and nothing of the epoch is saved."""


_DIVERGED_ADVICE = ("the training diverged. Nothing of this epoch was saved: the last checkpoint and best/ are "
                    "from earlier epochs. Start a new run with a lower --lr (or a smaller --batch-size, which "
                    "lowers the default one), e.g. from the last good weights with --pretrained OUT/last/"
                    "model.safetensors")


@dataclass
class TrainResult:
    """What ``train`` did: the resolved ``config``, ``classes``, per-epoch ``history`` (the rows of
    ``metrics.csv``), the ``best`` epoch and validation accuracy, the ``skipped`` files and the ``export`` path."""

    config: TrainConfig
    classes: List[str]
    history: List[dict]
    best: dict
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    export: Optional[str] = None


def train(config: TrainConfig, stream=None) -> TrainResult:
    """Train ``config.model`` on the image folder ``config.data`` as ``config`` says; see ``docs/training.md``.

    Run under ``python -m paddle.distributed.launch`` it trains data-parallel: each process takes a shard of
    every epoch and gradients are averaged; only rank 0 prints and writes files. ``stream`` receives the
    progress output (default: standard output).
    """
    rank, _ = init_distributed()
    say = _printer(stream or sys.stdout, rank)
    # Paddle names parameters and optimizer buffers from process-wide counters, and optimizer checkpoints
    # are keyed by those names; fresh counters make a model built here match one saved by any other process.
    with paddle.utils.unique_name.guard():
        config, resume_dir, saved = _settings(config)
        with _claim_output(Path(config.out), resume_dir) as restarted, _stopped_by_sigterm():
            if restarted:
                say(f"{config.out} held a run stopped while writing its first checkpoint (nothing resumable was "
                    "finished): starting it again there")
            if saved and _finished(config, saved):
                return _already_finished(config, saved, say)
            run = _prepare(config, resume_dir, saved, say)
            try:
                for epoch in range(run.trainer["epoch"] + 1, run.epochs + 1):
                    _check_stop()
                    _run_epoch(run, epoch, say)
            finally:  # however the run ends (an error, Ctrl-C, SIGTERM): no loader worker outlives it
                for loader in (run.train_loader, run.val_loader):
                    if loader is not None:
                        loader.close()
            return _finish(run, say)


@contextlib.contextmanager
def _stopped_by_sigterm():
    """Turn SIGTERM (``kill``, a job scheduler's stop) into ``KeyboardInterrupt`` for the block, as Ctrl-C is: the
    run then unwinds, stopping its loader workers and releasing its lock, instead of dying with them still
    running. Every finished epoch is in ``last/`` (checkpoints are written atomically), so ``--resume`` continues.
    Only in the main thread (the only one that may set signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        # Raised wherever the main thread is; if that is a destructor (a loader iterator's, shutting down its
        # workers), Python prints and drops it, so the request is also kept for the loops to find.
        _stop_requested.set()
        raise KeyboardInterrupt(_STOPPED)

    _stop_requested.clear()
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop_requested.clear()


_stop_requested = threading.Event()
_STOPPED = "stopped by signal SIGTERM"


def _check_stop() -> None:
    """Raise ``KeyboardInterrupt`` if SIGTERM arrived (see ``_stopped_by_sigterm``); called once per batch."""
    if _stop_requested.is_set():
        raise KeyboardInterrupt(_STOPPED)


@dataclass
class _Run:
    """Everything a training run works with, built by ``_prepare``."""

    config: TrainConfig
    train_set: ImageFolder
    val_set: ImageFolder
    model: paddle.nn.Layer
    parallel_model: paddle.nn.Layer
    optimizer: object
    scheduler: object
    scaler: object
    train_sampler: EpochBatchSampler
    train_loader: object
    val_loader: object
    trainer: dict  # what trainer.json holds: settings, classes, epochs and steps done, history, best
    epochs: int = 0  # epochs the run goes to (with max_steps: the last one is cut short)

    @property
    def out(self) -> Path:
        return Path(self.config.out)


def _settings(config: TrainConfig):
    """``(resolved config, checkpoint directory or None, its trainer.json or None)``: a resumed run takes what
    it does not name from its checkpoint; a new run may not write over an earlier one."""
    resume_dir = ckpt.find_checkpoint(config.resume) if config.resume else None
    saved = ckpt.load_trainer(resume_dir) if resume_dir else None
    if saved:
        # The data it trained on, and as output the run directory holding the checkpoint (the same rule as
        # resume_config, so a moved run keeps writing to itself).
        config = config.replace(data=config.data or saved["config"]["data"],
                                out=config.out or str(resume_dir.parent))
    config = config.resolved(distributed.world_size())
    if saved:
        check_resumable(saved["config"], config.to_dict())
        if config.max_steps is None and config.epochs < saved["epoch"]:
            raise ValueError(f"epochs={config.epochs}: the run in {resume_dir.parent} has already trained "
                             f"{counted(saved['epoch'], 'epoch')}; to train it further give more (--epochs N)")
        if config.max_steps is not None and config.max_steps < saved.get("step", 0):
            raise ValueError(f"max_steps={config.max_steps}: the run in {resume_dir.parent} has already trained "
                             f"{counted(saved['step'], 'step')}; to train it further give more (--max-steps N)")
    rundir.check_folders(config.data, config.val_dir, config.out)
    return config, resume_dir, saved


@contextlib.contextmanager
def _claim_output(out: Path, resume_dir: Optional[Path]):
    """Hold the output directory's lock for the block (rank 0, the process that writes) after checking that
    this run may write there (see ``rundir``). Every process stops if it may not, not only rank 0, or the
    others would wait for it for ever."""
    with contextlib.ExitStack() as stack:
        problem, restarted = None, False
        if distributed.rank() == 0:
            try:
                rundir.check_output(out, resume_dir)  # first without the lock: leave a foreign directory untouched
                stack.enter_context(rundir.locked(out))
                rundir.check_output(out, resume_dir)  # and under it: no other run can have started in between
                rundir.tidy(out)
                restarted = resume_dir is None and rundir.restart_unfinished(out)
            except OSError as error:
                problem = error
        message = distributed.all_gather_objects(None if problem is None else str(problem))[0]
        if message is not None:
            raise problem or FileExistsError(message)
        yield restarted


def _finished(config: TrainConfig, saved: dict) -> bool:
    """Whether the checkpoint ``saved`` has trained all of ``config``'s epochs (or steps)."""
    if config.max_steps is not None:
        return saved.get("step", 0) >= config.max_steps
    return saved["epoch"] >= config.epochs


def _already_finished(config: TrainConfig, saved: dict, say) -> TrainResult:
    """Resuming a run that has done all its epochs: say so (and how to extend it); export it if asked."""
    out, done = Path(config.out), saved["epoch"]
    longer = (f"--max-steps {2 * config.max_steps}" if config.max_steps is not None else f"--epochs {2 * done}")
    length = counted(config.max_steps, "step") if config.max_steps is not None else counted(done, "epoch")
    say(f"{out} has finished {'all ' if (config.max_steps or done) > 1 else ''}{length}: nothing to train. To train "
        f"it further, extend it: --resume {out} {longer} (the learning-rate schedule is then planned for the new "
        "length)")
    result = TrainResult(config, saved["classes"], saved["history"], saved["best"])
    if config.export and distributed.rank() == 0:
        model = build_model(config.replace(pretrained=False, freeze=None), len(saved["classes"]))
        result.export = export_best(export, model, out, config.input_size, saved["classes"])
        say(f"exported for deployment: {result.export}")
    return result


def _prepare(config: TrainConfig, resume_dir: Optional[Path], saved: Optional[dict], say) -> _Run:
    """Check the data, build the model, optimizer, schedule and loaders, and restore the checkpoint's state when
    resuming (``config``, ``resume_dir`` and ``saved`` as ``_settings`` returns them)."""
    threads = _use_cpu_threads(config)

    train_set, val_set = load_data(config, say)
    if saved and saved["classes"] != train_set.classes:
        raise BadDataError(f"{config.data}: classes {train_set.classes} differ from the checkpoint's "
                           f"{saved['classes']}")
    global_batch = config.batch_size * distributed.world_size()
    if global_batch > len(train_set.samples):
        default_lr = math.isclose(config.lr, BASE_LR[config.optimizer] * global_batch / 256)
        scaled = (f"; the default learning rate is scaled to the batch size ({config.lr:g}), not to the images a "
                  "step sees: give --lr, or a smaller --batch-size" if default_lr else "")
        say(f"note: a batch of {global_batch} images is more than the {len(train_set.samples)} training images, so "
            f"every epoch is a single step over all of them{scaled}")

    _seed_everything(config.seed)
    # A resumed run gets its weights from the checkpoint; loading the pretrained ones first would be wasted.
    model = build_model(config.replace(pretrained=False) if saved else config, len(train_set.classes))
    train_sampler = EpochBatchSampler(len(train_set.samples), config.batch_size, config.seed, shuffle=True,
                                      rank=distributed.rank(), world_size=distributed.world_size())
    steps_per_epoch = len(train_sampler)
    scheduler = build_schedule(config, steps_per_epoch)
    optimizer = build_optimizer(config, model, scheduler)
    use_amp = config.amp and paddle.device.get_device().startswith("gpu")
    if config.amp and not use_amp:
        say(f"--amp ignored: mixed precision needs a GPU and this run is on {paddle.device.get_device()}")
    scaler = paddle.amp.GradScaler(enable=use_amp)
    trainer = {"config": config.to_dict(), "classes": train_set.classes, "world_size": distributed.world_size(),
               "train_images": len(train_set.samples), "val_images": len(val_set.samples),
               "skipped": len(train_set.skipped) + len(val_set.skipped), "split": SPLIT_RULE,
               "epoch": 0, "step": 0, "history": [], "best": {"epoch": None, "val_acc": None}}
    if saved:
        restore_checkpoint(resume_dir, model, optimizer, scheduler, scaler,
                           max_steps=saved.get("step", _steps_taken(saved)))
        # Checkpoints from before step counting ran whole epochs of the same length.
        trainer.update(epoch=saved["epoch"], step=saved.get("step", saved["epoch"] * steps_per_epoch),
                       history=saved["history"], best=saved["best"])
        say(f"resumed from {resume_dir} after epoch {saved['epoch']} (step {trainer['step']})")
        before = (saved["config"].get("epochs"), saved["config"].get("max_steps"))
        if (config.epochs, config.max_steps) != before:
            replan_schedule(scheduler, build_schedule(config, steps_per_epoch))
            old, new = ((counted(before[1], "step"), counted(config.max_steps, "step")) if config.max_steps is not None
                        else (str(before[0]), counted(config.epochs, "epoch")))
            say(f"the run's length changed from {old} to {new}: the learning-rate schedule "
                f"is planned anew for {new} and continues at step {trainer['step']} (lr {scheduler():g})")
        if not config.val_dir and config.val_split and saved.get("split") != SPLIT_RULE:
            say("note: the checkpoint was made by an earlier version, which held out validation images by another "
                "rule; they are now chosen by a hash of each file's path, so the validation images (and the "
                "accuracies from here on) differ from before")
        for key, what in (("world_size", "process count"), ("train_images", "number of training images")):
            if saved[key] != trainer[key]:
                say(f"note: the {what} changed since the checkpoint ({saved[key]} -> {trainer[key]}), so from "
                    "here on the run differs from an uninterrupted one")
    mean = None
    if config.normalize == "pixel-mean":
        if saved and "pixel_mean" in saved:
            mean = np.asarray(saved["pixel_mean"], dtype=np.float32)
        else:
            say(f"computing the mean image of the {len(train_set.samples)} training images ...")
            images = (cifar.pil_images(train_set) if isinstance(train_set, cifar.CifarImages)
                      else read_images(train_set.samples))
            mean = pixel_mean(images, config.input_size, config.augment)
        trainer["pixel_mean"] = mean.tolist()

    parallel_model = paddle.DataParallel(model) if distributed.world_size() > 1 else model
    train_loader = make_loader(train_set, train_transform(config.input_size, config.augment, mean), train_sampler,
                               config)
    val_loader = None
    if val_set.samples:
        val_sampler = EpochBatchSampler(len(val_set.samples), config.batch_size, shuffle=False,
                                        rank=distributed.rank(), world_size=distributed.world_size())
        val_loader = make_loader(val_set, validation_transform(config.input_size, config.augment, mean),
                                 val_sampler, config)
    epochs = planned_epochs(config, steps_per_epoch, trainer["epoch"], trainer["step"])
    say(_describe(config, train_set, val_set, threads, total_steps(config, steps_per_epoch), epochs))
    return _Run(config, train_set, val_set, model, parallel_model, optimizer, scheduler, scaler, train_sampler,
                train_loader, val_loader, trainer, epochs=epochs)


def _run_epoch(run: _Run, epoch: int, say) -> None:
    """Train one epoch, validate, and (rank 0) write the checkpoints and metrics."""
    config, trainer = run.config, run.trainer
    run.train_sampler.set_epoch(epoch)
    steps = len(run.train_sampler)
    if config.max_steps is not None:  # the run's last epoch stops at max_steps
        steps = min(steps, config.max_steps - trainer["step"])
    progress = Progress(epoch, run.epochs, steps, stream=say.stream) if distributed.rank() == 0 else None
    try:
        record = train_one_epoch(run.parallel_model, run.train_loader, run.optimizer, run.scheduler, run.scaler,
                                 progress, max_steps=steps)
    except (TrainingDiverged, BadDataError) as error:
        if progress:
            progress.close(" (stopped)")  # end the progress line before the error is printed
        if isinstance(error, TrainingDiverged):
            raise TrainingDiverged(f"epoch {epoch}, {error}") from None
        raise
    distributed.broadcast_state(run.model)
    suffix = ""
    if run.val_loader is not None:
        record["val_loss"], record["val_acc"] = evaluate(run.model, run.val_loader)
        suffix = f" | val loss {record['val_loss']:.4f} acc {100 * record['val_acc']:.1f}%"
        if not math.isfinite(record["val_loss"]):  # checked before anything of this epoch is saved
            raise TrainingDiverged(f"epoch {epoch}: the validation loss is {record['val_loss']} (the training loss "
                                   f"was {record['train_loss']:.4g}); {_DIVERGED_ADVICE}")
    if progress:
        progress.close(suffix)
    schedules.after_epoch(run.scheduler, record)
    trainer["step"] += record.pop("steps")
    trainer["history"].append({"epoch": epoch, "step": trainer["step"], **record})
    best = trainer["best"]
    improved = run.val_loader is not None and (best["val_acc"] is None or record["val_acc"] > best["val_acc"])
    if improved:
        trainer["best"] = {"epoch": epoch, "val_acc": record["val_acc"]}
    trainer["epoch"] = epoch
    if distributed.rank() == 0:
        # best before last: a crash between the two is repaired by resuming from the previous last,
        # which repeats this epoch exactly and writes the same best again.
        if improved:
            ckpt.save_checkpoint(run.out / BEST, run.model, trainer)
        ckpt.save_checkpoint(run.out / LAST, run.model, trainer, run.optimizer,
                             {"scheduler": run.scheduler.state_dict(), "scaler": run.scaler.state_dict()})
        write_metrics_csv(run.out / "metrics.csv", trainer["history"])


def _finish(run: _Run, say) -> TrainResult:
    """Plot the metrics, report the best and last checkpoints, export if asked."""
    out, best = run.out, run.trainer["best"]
    result = TrainResult(run.config, run.train_set.classes, run.trainer["history"], best,
                         run.train_set.skipped + run.val_set.skipped)
    if distributed.rank() == 0:
        say(plot_metrics(out / "metrics.png", result.history)
            or f"metrics: {out / 'metrics.csv'}, {out / 'metrics.png'}")
        if best["epoch"] is not None:
            say(f"best validation accuracy {100 * best['val_acc']:.1f}% after epoch {best['epoch']}: {out / BEST}")
        say(f"last checkpoint: {out / LAST}")
        if run.config.export:
            say("exporting the best model for deployment ...")
            result.export = export_best(export, run.model, out, run.config.input_size, result.classes)
            say(f"exported for deployment: {result.export}")
    return result


def replan_schedule(scheduler, planned) -> None:
    """Move ``scheduler`` (restored from a checkpoint) onto ``planned``, a fresh schedule for the run's new
    length, at the same step: as if the run had been planned that long from the start. (Paddle's cosine
    schedule computes each rate from the previous one, so changing its length in place would not do.) A plateau
    schedule does not depend on the length; an error warm-up keeps its progress."""
    if isinstance(planned, paddle.optimizer.lr.ReduceOnPlateau):
        return
    if isinstance(planned, schedules.ErrorWarmup):
        planned.errors, planned.warm = scheduler.errors, scheduler.warm
    for _ in range(scheduler.last_epoch):
        planned.step()
    with warnings.catch_warnings():  # LinearWarmup's nested state: see restore_checkpoint
        warnings.filterwarnings("ignore", message="There are some unused values in state_dict")
        scheduler.set_state_dict(planned.state_dict())


def _steps_taken(saved: dict) -> Optional[int]:
    """The optimizer steps of the run whose ``trainer.json`` is ``saved`` (as ``EpochBatchSampler`` counts them),
    or None if its settings do not say."""
    batch, images, processes = saved["config"].get("batch_size"), saved["train_images"], saved["world_size"]
    if not (isinstance(batch, int) and batch > 0):
        return None
    return saved["epoch"] * -(-(-(-images // processes)) // batch)


def restore_checkpoint(directory: Path, model, optimizer, scheduler, scaler, max_steps: Optional[int] = None) -> None:
    """Load a resumable checkpoint into freshly built training objects, random generator states included.

    Every file is read with readers that cannot run code from it (``checkpoint``); a damaged one raises an
    error naming it. ``max_steps``: the steps the run has taken, which the schedule's counter may not exceed."""
    ckpt.load_model_weights(model, directory)
    state = ckpt.load_training_state(directory, max_steps)
    try:
        with warnings.catch_warnings():
            # LinearWarmup's set_state_dict hands its whole state to the base class, which warns about the
            # nested entry that LinearWarmup then loads itself.
            warnings.filterwarnings("ignore", message="There are some unused values in state_dict")
            optimizer.set_state_dict(state["optimizer"])
            scheduler.set_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        ckpt.set_rng_states(state["rng"])
    except (AssertionError, AttributeError, KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ckpt.CheckpointError(f"{directory}: its optimizer, schedule or random generator state does not fit "
                                   f"this run ({type(error).__name__}: {error}): the checkpoint is damaged or "
                                   "from another run") from None


def train_one_epoch(model, loader, optimizer, scheduler, scaler, progress=None, max_steps=None) -> dict:
    """One pass over ``loader`` (its first ``max_steps`` batches when given), one optimizer and schedule step per
    batch.

    Returns the epoch's ``lr`` (of its last step), ``train_loss``, ``train_acc`` (over all processes),
    ``images_per_sec``, ``seconds`` and ``steps``.
    """
    model.train()
    loss_sum = correct = count = 0.0
    steps, lr, start = 0, optimizer.get_lr(), time.perf_counter()
    for batch, (images, labels) in enumerate(loader, start=1):
        _check_stop()
        if max_steps is not None and batch > max_steps:
            break
        with paddle.amp.auto_cast(enable=scaler.is_enable()), batchnorm_note_silenced():
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)  # optimizer.step() when AMP is off
        scaler.update()
        optimizer.clear_grad()
        lr = optimizer.get_lr()
        size, value = labels.shape[0], float(loss)
        batch_correct = float((logits.argmax(axis=1) == labels).astype("float32").sum())
        schedules.after_batch(scheduler, 1.0 - batch_correct / size)
        steps += 1
        if not math.isfinite(value):  # NaN weights from here on: stop before anything is saved
            raise TrainingDiverged(f"batch {batch}: the training loss is {value} at learning rate {lr:.4g}; "
                                   f"{_DIVERGED_ADVICE}")
        loss_sum += value * size
        correct += batch_correct
        count += size
        if progress:
            progress.update(batch, loss_sum / count, correct / count, images=count * distributed.world_size())
    seconds = time.perf_counter() - start
    loss_sum, correct, count = distributed.all_sum([loss_sum, correct, count])
    return {"lr": lr, "train_loss": loss_sum / count, "train_acc": correct / count,
            "images_per_sec": count / seconds, "seconds": seconds, "steps": steps}


@paddle.no_grad()
def evaluate(model, loader) -> Tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` over ``loader`` (summed over all processes' shards)."""
    model.eval()
    loss_sum = correct = count = 0.0
    for images, labels in loader:
        _check_stop()
        logits = model(images)
        loss_sum += float(F.cross_entropy(logits, labels, reduction="sum"))
        correct += float((logits.argmax(axis=1) == labels).astype("float32").sum())
        count += labels.shape[0]
    loss_sum, correct, count = distributed.all_sum([loss_sum, correct, count])
    return loss_sum / count, correct / count


def _seed_everything(seed: int) -> None:
    """Seed weight initialisation (Paddle) and any other user of the global generators."""
    paddle.seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def _use_cpu_threads(config: TrainConfig) -> Optional[int]:
    """Set the CPU kernels' thread count (``--threads``, else ``config.DEFAULT_THREADS``); None on a GPU, or
    when Paddle's own setting is kept. (Eager Paddle runs CPU kernels on one thread unless told otherwise.) The
    setting outlasts the run, for the whole process: Paddle has no call that reads the previous one back."""
    threads = cpu_threads(config.threads)
    if config.threads is not None:
        check_threads("threads", config.threads)  # 100000 threads abort Paddle and starve the machine
    if threads is None or paddle.device.get_device().startswith("gpu"):
        return None
    paddle.base.core.set_num_threads(threads)
    return threads


def _describe(config: TrainConfig, train_set: ImageFolder, val_set: ImageFolder, threads: Optional[int],
              steps: int, epochs: int) -> str:
    schedule = f"{config.schedule} schedule" + (f" (x0.1 after steps {', '.join(map(str, config.milestones))})"
                                                if config.milestones else "")
    schedule += (f", lr {config.warmup_lr:g} until the training error is below {config.warmup_until_error:.0%}"
                 if config.warmup_lr is not None else f", {counted(config.warmup_epochs, 'warm-up epoch')}")
    length = (counted(config.epochs, "epoch") if config.max_steps is None else
              f"{steps} steps ({counted(epochs, 'epoch')})")
    cpu = f" ({threads} CPU thread{'s' if threads > 1 else ''} each)" if threads else ""
    data = "" if (config.augment, config.normalize) == ("imagenet", "imagenet") else \
        f"; {config.augment} augmentation, {config.normalize} normalisation"
    return (f"training {config.model} ({config.input_size}x{config.input_size}) on {len(train_set.samples)} images "
            f"of {len(train_set.classes)} classes, validating on {len(val_set.samples)}; "
            f"{distributed.world_size()} process(es){cpu} x batch {config.batch_size}; {length}; "
            f"{config.optimizer} "
            f"lr {config.lr:g} weight decay {config.weight_decay:g}, {schedule}{data}"
            + (f"; recipe {config.recipe}" if config.recipe != "default" else "")
            + (f"; frozen up to {config.freeze}" if config.freeze else "") + f"; output in {config.out}")


def _printer(stream, rank: int):
    """``say(message)``: print on rank 0 only (other processes' output would repeat it)."""
    def say(message: str) -> None:
        if rank == 0:
            print(message, file=stream, flush=True)

    say.stream = stream
    return say
