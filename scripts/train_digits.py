"""Train the small digit classifier the tutorial's "Your own model" chapter imports.

Data: scikit-learn's bundled copy of the UCI "Optical Recognition of Handwritten Digits" test
set (``sklearn.datasets.load_digits``: 1,797 images of 8x8 pixels, values 0..16, ten classes;
shipped inside the scikit-learn package, nothing is downloaded). Each image is scaled to [0, 1]
and enlarged 4x to 32x32 with bilinear interpolation (``align_corners=False``), so that the
network's receptive fields are large enough to draw. Split: a stratified 75/25 split
(``train_test_split(random_state=0)``): 1,347 training and 450 test images. Training images are
shifted by up to 2 pixels (zero fill) each epoch, drawn from the seeded generator.

Network (PyTorch): conv 5x5 (12 filters) -> ReLU -> max pool 2 -> conv 3x3 (24) -> batch norm
-> ReLU -> max pool 2 -> a residual block (two 3x3 convolutions with batch norm, added to its
input) -> ReLU -> global average pool -> flatten -> linear (10 logits). SGD with momentum, 40
epochs, batch 32, seed 0, one thread, deterministic algorithms (two runs on one machine write
byte-identical files). The first filters start at a tenth of PyTorch's initial size with bias
0.1 (so none dies) and decay more than the rest: they end smooth, like edge detectors.

Outputs (in ``--out``, default docs/tutorial/models/): ``digits.onnx`` (opset 17, input
``image`` 1x1x32x32 float32 in [0, 1], output ``logits``), ``digit.png`` (a test image, 32x32
grayscale; the model's input is the PNG's values divided by 255), ``digit.npy`` (the same image
as a 32x32x1 float32 array, for ``rfdocs activations``), ``digits.json`` (accuracy, the test
image's logits and class, versions) and ``README.txt`` (the provenance; not ``.md``, which
Sphinx would read as a page of the docs). Needs torch, onnx and
scikit-learn, none of which rfdocs depends on::

    .venv/bin/python scripts/train_digits.py            # about a minute on one core
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SEED = 0
EPOCHS = 40
BATCH = 32
SIZE = 32  # pixels of the enlarged images
SHIFT = 2  # largest random shift of a training image (pixels)
SAMPLE_INDEX = 7  # the test image written as digit.png


def build_model() -> Any:
    import torch.nn as nn

    class Residual(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x: Any) -> Any:
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + x)

    class DigitNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 12, 5, padding=2)
            self.relu1 = nn.ReLU()
            self.pool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(12, 24, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(24)
            self.relu2 = nn.ReLU()
            self.pool2 = nn.MaxPool2d(2)
            self.block = Residual(24)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(24, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
            x = self.block(x)
            return self.fc(self.flatten(self.pool(x)))

    return DigitNet()


def load_data() -> tuple[Any, Any, Any, Any]:
    """(train images, train labels, test images, test labels) as tensors, images N x 1 x 32 x 32."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]
    images = F.interpolate(images, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    labels = torch.tensor(digits.target, dtype=torch.int64)
    index = np.arange(len(labels))
    train, test = train_test_split(index, test_size=0.25, random_state=SEED,
                                   stratify=digits.target)
    train_t, test_t = torch.tensor(train), torch.tensor(test)
    return images[train_t], labels[train_t], images[test_t], labels[test_t]


def shifted(batch: Any, generator: Any) -> Any:
    """Each image moved by up to SHIFT pixels along each axis (zeros come in)."""
    import torch
    import torch.nn.functional as F

    n = batch.shape[0]
    padded = F.pad(batch, (SHIFT, SHIFT, SHIFT, SHIFT))
    dy = torch.randint(0, 2 * SHIFT + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * SHIFT + 1, (n,), generator=generator)
    return torch.stack([padded[i, :, dy[i]:dy[i] + SIZE, dx[i]:dx[i] + SIZE] for i in range(n)])


def accuracy(model: Any, images: Any, labels: Any) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).float().mean())


def train(log: bool = True) -> tuple[Any, dict[str, Any], Any]:
    import torch

    torch.manual_seed(SEED)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    x_train, y_train, x_test, y_test = load_data()
    model = build_model()
    with torch.no_grad():  # small first filters: what they become is learned from the images;
        model.conv1.weight.mul_(0.1)  # a positive bias keeps every one of them alive at first
        model.conv1.bias.fill_(0.1)
    first = list(model.conv1.parameters())
    rest = [p for p in model.parameters() if all(p is not q for q in first)]
    # a stronger weight decay on the first filters damps what the (smooth) images do not ask for
    optimiser = torch.optim.SGD([{"params": first, "weight_decay": 5e-3}, {"params": rest}],
                                lr=0.05, momentum=0.9, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, EPOCHS)
    generator = torch.Generator().manual_seed(SEED)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(y_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            optimiser.zero_grad()
            loss = loss_fn(model(shifted(x_train[idx], generator)), y_train[idx])
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
        schedule.step()
        if log and (epoch % 5 == 4 or epoch == EPOCHS - 1):
            print(f"epoch {epoch + 1:2d}: loss {total / len(order):.4f}, "
                  f"test accuracy {accuracy(model, x_test, y_test):.4f}", flush=True)
    model.eval()
    stats = {"train_accuracy": accuracy(model, x_train, y_train),
             "test_accuracy": accuracy(model, x_test, y_test),
             "train_images": len(y_train), "test_images": len(y_test)}
    return model, stats, (x_test, y_test)


def export(model: Any, stats: dict[str, Any], test: Any, out: Path) -> None:
    import onnx
    import sklearn
    import torch
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    x_test, y_test = test
    sample = x_test[SAMPLE_INDEX:SAMPLE_INDEX + 1]
    # The PNG holds 8-bit values: the model's input is exactly the PNG divided by 255.
    pixels = np.rint(sample[0, 0].numpy() * 255).clip(0, 255).astype(np.uint8)
    Image.fromarray(pixels, mode="L").save(out / "digit.png", optimize=True)
    image = torch.tensor(pixels / 255.0, dtype=torch.float32)[None, None]
    np.save(out / "digit.npy", image[0].permute(1, 2, 0).numpy().astype(np.float32))
    with torch.no_grad():
        logits = model(image)[0]
    onnx_path = out / "digits.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model, (image,), str(onnx_path), opset_version=17, dynamo=False,
                          input_names=["image"], output_names=["logits"],
                          do_constant_folding=True)
    onnx.checker.check_model(onnx.load(str(onnx_path)))
    info = {
        **stats,
        "sample": {"file": "digit.png", "test_index": SAMPLE_INDEX, "label": int(y_test[SAMPLE_INDEX]),
                   "predicted": int(logits.argmax()), "logits": [round(float(v), 5) for v in logits]},
        "correct_test_images": round(stats["test_accuracy"] * stats["test_images"]),
        "seed": SEED, "epochs": EPOCHS, "batch": BATCH,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                     "scikit-learn": sklearn.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "onnx_bytes": onnx_path.stat().st_size,
    }
    (out / "digits.json").write_text(json.dumps(info, indent=2) + "\n")
    (out / "README.txt").write_text(readme(info))


def readme(info: dict[str, Any]) -> str:
    v = info["versions"]
    s = info["sample"]
    return f"""# The tutorial's digit classifier

`digits.onnx` is a small convolutional network trained by `scripts/train_digits.py` (run from
the repository root: `python scripts/train_digits.py`; it needs torch, onnx and scikit-learn,
which rfdocs does not depend on). Everything here is written by that script.

- **Data**: scikit-learn's bundled copy of the UCI "Optical Recognition of Handwritten Digits"
  test set (`sklearn.datasets.load_digits`): 1,797 grayscale 8x8 images of the digits 0-9 with
  values 0-16, shipped inside the scikit-learn package (nothing is downloaded). Scaled to [0, 1]
  and enlarged 4x to 32x32 with bilinear interpolation (PyTorch, `align_corners=False`).
- **Split**: stratified, `train_test_split(test_size=0.25, random_state={info['seed']})`:
  {info['train_images']:,} training and {info['test_images']} test images. Training images
  are shifted by up to {SHIFT} pixels (zero fill) each epoch.
- **Network**: conv 5x5 (12 filters, padding 2) → ReLU → max pool 2 → conv 3x3 (24) → batch
  norm → ReLU → max pool 2 → residual block (conv 3x3 → batch norm → ReLU → conv 3x3 → batch
  norm, added to the block's input) → ReLU → global average pool → flatten → linear (10
  logits). The exporter folds each batch norm into the convolution before it.
- **Training**: SGD (momentum 0.9, learning rate 0.05 on a cosine schedule, weight decay 5e-4,
  5e-3 on the first filters), {info['epochs']} epochs, batch {info['batch']}, cross-entropy,
  seed {info['seed']}, one thread, deterministic algorithms: two runs on one machine write
  byte-identical files. The first filters start at a tenth of PyTorch's initial size with bias
  0.1, so that none dies and each ends smooth, shaped by the images (edge detectors).
- **Accuracy**: {info['test_accuracy'] * 100:.2f}% on the {info['test_images']} test images
  ({round(info['test_accuracy'] * info['test_images'])} right), {info['train_accuracy'] * 100:.2f}%
  on the training images.
- **Export**: `torch.onnx.export` (TorchScript exporter, opset 17), input `image`
  (1x1x32x32 float32, values in [0, 1]), output `logits` (1x10); {info['onnx_bytes']:,} bytes,
  sha256 `{info['onnx_sha256']}`.
- **Versions**: torch {v['torch']}, onnx {v['onnx']}, scikit-learn {v['scikit-learn']},
  numpy {v['numpy']}, Python {v['python']}.

`digit.png` is test image {s['test_index']} (a {s['label']}), 32x32 grayscale; the model's input
is its pixel values divided by 255 (no mean or std). `digit.npy` is the same input as a
32x32x1 float32 array (for `rfdocs activations digits.onnx --input digit.npy`). The model
predicts {s['predicted']} for it, logits `{s['logits']}` (also in `digits.json`).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "tutorial" / "models")
    args = parser.parse_args()
    model, stats, test = train()
    print(f"test accuracy {stats['test_accuracy']:.4f}, train {stats['train_accuracy']:.4f}")
    export(model, stats, test, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
