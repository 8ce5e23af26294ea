"""Training throughput: lthlib's batched trainer against a textbook PyTorch loop, in one process.

The textbook loop is what a reader would write: an ``nn.Module``, a shuffled
``DataLoader`` over a ``TensorDataset``, ``torch.optim.Adam``, one network at
a time. lthlib trains K masked networks as one cohort. Both train on the same
Fashion-MNIST images at batch 60 with the paper's learning rate; the figure
is model-steps per second (one network taking one optimiser step), so the
ratio is directly the speed-up of training many tickets.
"""

from __future__ import annotations

import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data, models
from .config import PAPER_SETTINGS
from .train import Cohort, TrainSettings, train

NETWORKS = ("lenet", "conv2", "conv4", "conv6")
BATCH = 60


def textbook_module(arch: models.Architecture) -> nn.Module:
    """The same network as an ordinary ``nn.Sequential``."""
    layers: list[nn.Module] = []
    channels = arch.input_shape[0]
    for entry in arch.conv_plan:
        if entry == models.POOL:
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(channels, entry, 3, padding=1), nn.ReLU()]
            channels = entry
    layers.append(nn.Flatten())
    for layer in arch.layers:
        if layer.kind == "conv":
            continue
        layers.append(nn.Linear(layer.shape[1], layer.shape[0]))
        if layer.kind == "fc":
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def textbook_steps_per_second(arch, split, lr: float, steps: int) -> float:
    torch.manual_seed(0)
    net = textbook_module(arch)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(split.x, split.y), batch_size=BATCH, shuffle=True, drop_last=True
    )

    def run(n):
        done = 0
        while done < n:
            for x, y in loader:
                loss = F.cross_entropy(net(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                done += 1
                if done == n:
                    return

    run(5)
    began = time.perf_counter()
    run(steps)
    return steps / (time.perf_counter() - began)


def lthlib_steps_per_second(arch, dataset, lr: float, members: int, steps: int, precision: str) -> float:
    weights, biases = models.initialise(arch, [torch.Generator().manual_seed(k) for k in range(members)], "cpu")
    masks = {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}
    cohort = Cohort(weights, biases, masks, {}, list(range(members)))
    tiny = data.Split(dataset.val.x[:BATCH], dataset.val.y[:BATCH])
    bench_data = data.Dataset(dataset.name, dataset.train, tiny, tiny, dataset.num_classes, dataset.input_shape)

    def settings(n):
        return TrainSettings("adam", lr, BATCH, n, n, precision=precision)

    train(arch, bench_data, cohort, settings(3))
    began = time.perf_counter()
    train(arch, bench_data, cohort, settings(steps))
    return members * steps / (time.perf_counter() - began)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(network: str, members: int, steps: int, precisions, dataset) -> dict:
    """Textbook float32 steps/s, then lthlib model-steps/s and ratio at each precision, with peak RSS."""
    arch = models.build(network, dataset.input_shape, dataset.num_classes)
    lr = PAPER_SETTINGS[network]["lr"]
    row = {
        "network": network,
        "members": members,
        "textbook": textbook_steps_per_second(arch, dataset.train, lr, steps),
        "peak_rss_textbook_mib": peak_rss_mib(),
    }
    for precision in precisions:
        row[precision] = lthlib_steps_per_second(arch, dataset, lr, members, steps, precision)
        row[f"ratio_{precision}"] = row[precision] / row["textbook"]
    row["peak_rss_mib"] = peak_rss_mib()
    return row


def main(
    networks=("lenet", "conv2"), members: int = 16, steps: int = 60, precisions=("float32", "bfloat16")
) -> list[dict]:
    dataset = data.load("fashion-mnist", "cpu", train_subset=10_000, test_subset=BATCH)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, {steps} timed steps; "
        f"textbook = one nn.Module with DataLoader and Adam in float32; lthlib = K={members} networks in one cohort"
    )
    header = f"{'network':8s} {'textbook steps/s':>17s}"
    for precision in precisions:
        header += f" {'lthlib ' + precision:>17s} {'ratio':>6s}"
    print(header + f" {'peak RSS (process)':>19s}")
    results = []
    for network in networks:
        row = measure(network, members, steps, precisions, dataset)
        results.append(row)
        line = f"{network:8s} {row['textbook']:17.1f}"
        for precision in precisions:
            line += f" {row[precision]:17.1f} {row['ratio_' + precision]:6.2f}"
        print(line + f" {row['peak_rss_mib']:15.0f} MiB")
    return results
