"""Train a digits classifier eagerly: fixed seed, 80/20 split, progress bar, a checkpoint per
epoch (resumable), and a training-curve PNG.

    python3 examples/digits/train.py                 # the CNN
    python3 examples/digits/train.py --model mlp
    python3 examples/digits/train.py --resume        # continue from the last checkpoint
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # so it also runs as a plain script

import eager  # noqa: E402
from eager import nn, optim  # noqa: E402
from eager.data import DataLoader, TensorDataset, random_split  # noqa: E402
from examples.digits.model import build_model  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "runs"


@dataclass
class TrainResult:
    """What `train_digits` returns: the trained model and how it got there."""

    model: nn.Module
    test_accuracy: float
    history: dict = field(default_factory=dict)
    seconds: float = 0.0
    checkpoint: str | None = None
    plot: str | None = None


def load_splits(seed: int):
    """The 1,797 8x8 digits as (N, 1, 8, 8) float32 in [0, 1], split 80/20 with `seed`."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[:, None]
    dataset = TensorDataset(eager.tensor(images), eager.tensor(digits.target.astype(np.int64)))
    return random_split(dataset, [0.8, 0.2], generator=eager.Generator().manual_seed(seed))


def stack_subset(subset):
    """A Subset as two whole tensors (evaluation runs in one batch)."""
    batch = next(iter(DataLoader(subset, batch_size=len(subset))))
    return batch[0], batch[1]


def evaluate(model: nn.Module, images, labels) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) in eval mode, without recording gradients."""
    model.eval()
    with eager.no_grad():
        logits = model(images)
        loss = float(nn.functional.cross_entropy(logits, labels))
        accuracy = float((logits.argmax(1) == labels).float().mean())
    model.train()
    return loss, accuracy


def _latest_checkpoint(out_dir: Path, model_name: str) -> str | None:
    found = sorted(glob.glob(str(out_dir / f"{model_name}_epoch*.esc")))
    return found[-1] if found else None


def plot_history(history: dict, path: Path, title: str) -> str:
    """Loss and accuracy per epoch, saved as a PNG (matplotlib's Agg backend, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, history["train_loss"], label="train")
    left.plot(epochs, history["test_loss"], label="test")
    left.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    right.plot(epochs, history["train_acc"], label="train")
    right.plot(epochs, history["test_acc"], label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0.5, 1.0))
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return str(path)


def train_digits(model_name: str = "cnn", epochs: int = 12, batch_size: int = 32, lr: float = 3e-3,
                 seed: int = 0, out_dir: str | Path = DEFAULT_OUT, resume: bool = False,
                 progress: bool = True) -> TrainResult:
    """Train `model_name` ("cnn" or "mlp") on the digits and return the trained model with its
    test accuracy; writes `<out_dir>/<model>_epochNN.esc` every epoch and `<model>_curve.png`."""
    from tqdm import tqdm

    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    eager.manual_seed(seed)
    train_set, test_set = load_splits(seed)
    test_images, test_labels = stack_subset(test_set)
    model = build_model(model_name)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    shuffle = eager.Generator().manual_seed(seed)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=shuffle)
    loss_fn = nn.CrossEntropyLoss()
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    first_epoch, checkpoint = 0, None
    if resume and (checkpoint := _latest_checkpoint(out_dir, model_name)):
        state = eager.load(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        shuffle.set_state(state["shuffle"])
        history, first_epoch = state["history"], state["epoch"]
    for epoch in range(first_epoch, epochs):
        bar = tqdm(loader, desc=f"{model_name} epoch {epoch + 1}/{epochs}", disable=not progress, leave=True)
        seen = correct = total_loss = 0.0
        for images, labels in bar:
            logits = model(images)
            loss = loss_fn(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            n = labels.shape[0]
            seen += n
            total_loss += float(loss) * n
            correct += float((logits.argmax(1) == labels).sum())
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
        scheduler.step()
        test_loss, test_acc = evaluate(model, test_images, test_labels)
        for key, value in zip(history, (total_loss / seen, correct / seen, test_loss, test_acc)):
            history[key].append(value)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}", test_acc=f"{test_acc:.3f}")
        bar.close()
        checkpoint = str(out_dir / f"{model_name}_epoch{epoch + 1:03d}.esc")
        eager.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "shuffle": shuffle.get_state(), "epoch": epoch + 1,
                    "history": history, "model_name": model_name}, checkpoint)
    _, test_acc = evaluate(model, test_images, test_labels)
    plot = plot_history(history, out_dir / f"{model_name}_curve.png", f"digits {model_name}") if history[
        "train_loss"] else None
    return TrainResult(model.eval(), test_acc, history, time.perf_counter() - start, checkpoint, plot)


def main(argv: list[str] | None = None) -> TrainResult:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["cnn", "mlp"], default="cnn")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default=str(DEFAULT_OUT))
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out-dir")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    result = train_digits(args.model, args.epochs, args.batch_size, args.lr, args.seed, args.out_dir, args.resume,
                          not args.no_progress)
    print(f"{args.model}: test accuracy {result.test_accuracy:.4f} in {result.seconds:.1f} s; "
          f"checkpoint {result.checkpoint}; curve {result.plot}")
    return result


if __name__ == "__main__":
    main()
