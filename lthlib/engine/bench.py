"""Training throughput: lthlib's batched trainer against a textbook PyTorch loop, in one process.

The textbook loop is what a reader would write: an ``nn.Module``, a shuffled
``DataLoader`` over a ``TensorDataset``, ``torch.optim.Adam``, one network at
a time. lthlib trains K masked networks as one cohort. Both train on the same
Fashion-MNIST images at batch 60 with the paper's learning rate; the figure
is model-steps per second (one network taking one optimiser step), so the
ratio is directly the speed-up of training many tickets.
"""

from __future__ import annotations

import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data, models, probes
from .config import PAPER_SETTINGS
from .train import Cohort, TrainSettings, train

NETWORKS = ("lenet", "conv2", "conv4", "conv6")
BATCH = 60
PROBE_INTERVAL = 250  # steps between two evaluations (and two calls of a probe) in the review chapter's runs


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


def _cohort_runner(arch, dataset, lr: float, members: int, precision: str):
    """A function that trains a dense cohort of ``members`` networks for a given number of steps (evaluated on
    one batch only, so that the steps dominate)."""
    weights, biases = models.initialise(arch, [torch.Generator().manual_seed(k) for k in range(members)], "cpu")
    masks = {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}
    cohort = Cohort(weights, biases, masks, {}, list(range(members)))
    tiny = data.Split(dataset.val.x[:BATCH], dataset.val.y[:BATCH])
    bench_data = data.Dataset(dataset.name, dataset.train, tiny, tiny, dataset.num_classes, dataset.input_shape)
    return lambda steps: train(
        arch, bench_data, cohort, TrainSettings("adam", lr, BATCH, steps, steps, precision=precision)
    )


def lthlib_steps_per_second(arch, dataset, lr: float, members: int, steps: int, precision: str) -> float:
    run = _cohort_runner(arch, dataset, lr, members, precision)
    run(3)
    began = time.perf_counter()
    run(steps)
    return members * steps / (time.perf_counter() - began)


def sign_probe_seconds(arch, members: int, repeats: int = 5) -> float:
    """Seconds one call of the sign probe (:func:`lthlib.engine.probes.signs`) takes for ``members`` networks of
    ``arch``, kept and pruned groups of half the weights each: the best of ``repeats``."""
    start, _ = models.initialise(arch, [torch.Generator().manual_seed(k) for k in range(members)], "cpu")
    moved = {
        name: w + 0.01 * torch.randn(w.shape, generator=torch.Generator().manual_seed(1)) for name, w in start.items()
    }
    kept = {name: torch.rand(w.shape, generator=torch.Generator().manual_seed(2)) < 0.5 for name, w in start.items()}
    probe = probes.signs(start, {"kept": kept, "pruned": {name: ~mask for name, mask in kept.items()}})
    return fastest(lambda: probe(moved, range(members)), repeats, warm_up=False)


def fastest(work, repeats: int, warm_up: bool = True) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``work()`` (after one untimed call with ``warm_up``)."""
    if warm_up:
        work()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def multiply_adds(arch: models.Architecture) -> list[tuple[str, int]]:
    """Per layer, in order: (name, multiply-adds of one example's forward pass)."""
    counts = []
    side = list(arch.input_shape[1:])
    plan = iter(arch.conv_plan)
    for layer in arch.layers:
        if layer.kind == "conv":
            entry = next(plan)
            while entry == models.POOL:
                side = [n // 2 for n in side]
                entry = next(plan)
            counts.append((layer.name, math.prod(side) * math.prod(layer.shape)))
        else:
            counts.append((layer.name, math.prod(layer.shape)))
    return counts


def training_flops(arch: models.Architecture, batch: int = BATCH) -> int:
    """Floating-point operations of one training step of one network (2 per multiply-add): the forward pass,
    the weight gradients and the input gradients of every layer but the first (which needs none); pooling,
    activations, the loss and the optimiser are left out (a few per cent)."""
    layers = multiply_adds(arch)
    forward = sum(count for _, count in layers)
    return 2 * batch * (3 * forward - layers[0][1])


def peak_gflops(precision: str, repeats: int = 5) -> dict[str, float]:
    """This machine's measured throughput (GFLOP/s) for a 2048 x 2048 matmul and for a 64 -> 64 3x3 convolution
    (forward, batch 60 of 32 x 32, the faster of the contiguous and channels-last layouts), at ``precision``: the
    yardsticks for each network's share of peak."""
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[precision]
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(2048, 2048, generator=g).to(dtype) for _ in range(2))
    x = torch.randn(BATCH, 64, 32, 32, generator=g).to(dtype)
    w = torch.randn(64, 64, 3, 3, generator=g).to(dtype)

    def best(work, flops):
        return flops / fastest(work, repeats) / 1e9

    conv_flops = 2 * BATCH * 32 * 32 * 64 * 64 * 9
    layouts = [(_laid_out(x, last), _laid_out(w, last)) for last in (False, True)]
    return {
        "matmul": best(lambda: a @ b, 2 * 2048**3),
        "conv": max(best(lambda xs=xs, ws=ws: F.conv2d(xs, ws, padding=1), conv_flops) for xs, ws in layouts),
    }


def _laid_out(tensor: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return tensor.contiguous(memory_format=torch.channels_last) if channels_last else tensor


def _members_apart(arch, weights, biases, x, channels_last: bool):
    """The convolutions of each member in turn (lthlib's path), optionally in channels-last layout."""
    out = []
    for k in range(x.shape[0]):
        h = _laid_out(x[k], channels_last)
        index = 0
        for entry in arch.conv_plan:
            if entry == models.POOL:
                h = F.max_pool2d(h, 2)
                continue
            index += 1
            w = _laid_out(weights[f"conv{index}"][k], channels_last)
            h = F.relu(F.conv2d(h, w, biases[f"conv{index}"][k], padding=1))
        out.append(h.flatten(1))
    return torch.stack(out)


def _members_grouped(arch, weights, biases, x, channels_last: bool):
    """All members' convolutions as one grouped convolution per layer (members side by side as channel groups)."""
    members, batch = x.shape[:2]
    h = _laid_out(x.transpose(0, 1).reshape(batch, -1, *x.shape[-2:]), channels_last)
    index = 0
    for entry in arch.conv_plan:
        if entry == models.POOL:
            h = F.max_pool2d(h, 2)
            continue
        index += 1
        w, b = weights[f"conv{index}"], biases[f"conv{index}"]
        w = _laid_out(w.reshape(-1, *w.shape[2:]), channels_last)
        h = F.relu(F.conv2d(h, w, b.reshape(-1), padding=1, groups=members))
    return h.reshape(batch, members, -1).transpose(0, 1)


CONV_PATHS = {"member by member": _members_apart, "one grouped convolution": _members_grouped}


def conv_layouts(network: str, dataset, members: int, steps: int, precisions) -> list[dict]:
    """Member-steps/s of a network's convolutions (forward and backward) for each path and memory layout."""
    arch = models.build(network, dataset.input_shape, dataset.num_classes)
    weights, biases = models.initialise(arch, [torch.Generator().manual_seed(k) for k in range(members)], "cpu")
    conv = {layer.name for layer in arch.layers if layer.kind == "conv"}
    weights = {n: w.requires_grad_() for n, w in weights.items() if n in conv}
    biases = {n: b.requires_grad_() for n, b in biases.items() if n in conv}
    x = dataset.train.x[: members * BATCH].reshape(members, BATCH, *dataset.input_shape)
    rows = []
    for precision in precisions:
        for path, run in CONV_PATHS.items():
            for channels_last in (False, True):

                def step(run=run, channels_last=channels_last, precision=precision):
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
                        features = run(arch, weights, biases, x, channels_last)
                    features.float().sum().backward()

                step()
                began = time.perf_counter()
                for _ in range(steps):
                    step()
                rows.append(
                    {
                        "network": network,
                        "precision": precision,
                        "path": path,
                        "layout": "channels-last" if channels_last else "contiguous",
                        "member_steps_per_second": members * steps / (time.perf_counter() - began),
                    }
                )
    return rows


# Bytes one training step of one network must move per weight, whatever the implementation, in float32 with Adam:
# the forward pass reads the weight (4), the backward pass writes its gradient (4), and Adam reads the weight, the
# gradient and its two moments and writes the weight and the moments back (28). A cohort whose weights and state
# do not fit in the caches moves all of it through memory at every step.
ADAM_BYTES_PER_WEIGHT = 36


def memory_bandwidth_gbs(mib: int = 256, repeats: int = 5) -> float:
    """This machine's memory bandwidth (GB/s): bytes read and written by the fastest of ``repeats`` copies of a
    ``mib`` MiB float32 tensor, far larger than the caches."""
    source = torch.ones(mib * 2**20 // 4)
    target = torch.empty_like(source)
    return 2 * source.numel() * 4 / fastest(lambda: target.copy_(source), repeats) / 1e9


def small_product_gflops(members: int, repeats: int = 20) -> float:
    """GFLOP/s of LeNet's largest product, a 60 x 784 by 784 x 300 matrix product, batched over ``members``
    networks as the trainer computes it (a lone network as a batch of two, see ``models._member_bmm``; the fastest
    of ``repeats``)."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(max(members, 2), BATCH, 784, generator=g)
    b = torch.randn(max(members, 2), 784, 300, generator=g)
    return 2 * a.shape[0] * BATCH * 784 * 300 / fastest(lambda: torch.bmm(a, b), repeats) / 1e9


def step_bound(arch: models.Architecture, product_gflops: float, bandwidth_gbs: float) -> dict:
    """The fastest a network-step of ``arch`` could run on this machine: its FLOPs at the small-product speed and
    its unavoidable bytes (:data:`ADAM_BYTES_PER_WEIGHT`) at the memory bandwidth, each a bound in steps/s
    (``compute``, ``memory``), and ``serial``, both paid one after the other."""
    flops = training_flops(arch)
    moved = ADAM_BYTES_PER_WEIGHT * sum(models.parameter_count(arch).values())
    compute, memory = flops / product_gflops / 1e9, moved / bandwidth_gbs / 1e9
    return {"bytes": moved, "compute": 1 / compute, "memory": 1 / memory, "serial": 1 / (compute + memory)}


# Where the time of a training step goes: each profiled operator's own time is counted under the first group
# whose names include it; the rest of the operators are "other operators", and the wall time no operator
# accounts for is Python and dispatch.
STEP_PARTS = {
    "products": (
        "aten::bmm",
        "aten::baddbmm",
        "aten::mm",
        "aten::addmm",
        "aten::convolution",
        "aten::_convolution",
        "aten::mkldnn_convolution",
        "aten::convolution_backward",
    ),
    "masking": ("aten::mul", "aten::mul_", "aten::add", "aten::masked_fill", "aten::masked_fill_"),
    "optimiser": ("aten::_fused_adam_", "aten::_foreach_add_", "aten::_foreach_mul_", "Optimizer.step#Adam.step"),
    "batch gathering": ("aten::index", "aten::randperm"),
    "per-member views": (
        "aten::select",
        "aten::as_strided",
        "aten::detach",
        "aten::detach_",
        "aten::alias",
        "aten::slice",
        "aten::expand",
    ),
}


def profile_step(arch, dataset, members: int, steps: int, precision: str = "float32") -> dict[str, float]:
    """Shares (0..1) of the wall time of ``steps`` training steps of ``members`` networks of ``arch``, by the parts
    of :data:`STEP_PARTS`, other operators and Python (with dispatch), from ``torch.profiler``."""
    from torch.profiler import ProfilerActivity, profile

    run = _cohort_runner(arch, dataset, PAPER_SETTINGS[arch.name]["lr"], members, precision)
    run(3)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        began = time.perf_counter()
        run(steps)
        wall = (time.perf_counter() - began) * 1e6
    shares = dict.fromkeys((*STEP_PARTS, "other operators"), 0.0)
    for event in profiler.key_averages():
        part = next((p for p, names in STEP_PARTS.items() if event.key in names), None)
        if part is None and event.key.startswith("aten::"):
            part = "other operators"
        if part is not None:
            shares[part] += event.self_cpu_time_total / wall
    shares["Python and dispatch"] = max(0.0, 1 - sum(shares.values()))
    return shares


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Rounds of a benchmark: the textbook loop and each lthlib precision are timed once per round, in turn, and
# each keeps its best round, so that a slow spell of a shared machine does not land on one side of a ratio only.
ROUNDS = 3


def measure(network: str, members: int, steps: int, precisions, dataset, rounds: int = ROUNDS) -> dict:
    """Textbook float32 steps/s, then lthlib model-steps/s and ratio at each precision (each the best of ``rounds``
    interleaved rounds of ``steps`` steps), with peak RSS."""
    arch = models.build(network, dataset.input_shape, dataset.num_classes)
    lr = PAPER_SETTINGS[network]["lr"]
    best = dict.fromkeys(("textbook", *precisions), 0.0)
    for _ in range(rounds):
        best["textbook"] = max(best["textbook"], textbook_steps_per_second(arch, dataset.train, lr, steps))
        for precision in precisions:
            speed = lthlib_steps_per_second(arch, dataset, lr, members, steps, precision)
            best[precision] = max(best[precision], speed)
    row = {"network": network, "members": members, "rounds": rounds, **best}
    flops = training_flops(arch)
    row["flops_per_step"] = flops
    for precision in precisions:
        row[f"ratio_{precision}"] = row[precision] / row["textbook"]
        row[f"gflops_{precision}"] = row[precision] * flops / 1e9
    row["peak_rss_mib"] = peak_rss_mib()
    return row


def main(
    networks=("lenet", "conv2", "conv4"),
    members: int = 8,
    steps: int = 60,
    precisions=("float32", "bfloat16"),
    profile_members=(),
) -> list[dict]:
    """Print (and return, a row per network) lthlib's speed against the textbook loop and this machine's bound;
    with ``profile_members``, first where a step's time goes for each of those cohort sizes."""
    dataset = data.load("fashion-mnist", "cpu", train_subset=10_000, test_subset=BATCH)
    for network in networks if profile_members else ():
        arch = models.build(network, dataset.input_shape, dataset.num_classes)
        for precision in precisions:
            for size in profile_members:
                shares = profile_step(arch, dataset, size, max(10, steps // 2), precision)
                parts = ", ".join(f"{part} {100 * share:.0f} %" for part, share in shares.items())
                print(f"profile of {network}, {precision}, K={size}: {parts}")
    peaks = {precision: peak_gflops(precision) for precision in precisions}
    bandwidth, product = memory_bandwidth_gbs(), small_product_gflops(members)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, the best of {ROUNDS} "
        f"interleaved rounds of {steps} timed steps; "
        f"textbook = one nn.Module with DataLoader and Adam in float32; lthlib = K={members} networks in one cohort"
    )
    for precision, peak in peaks.items():
        print(
            f"peak {precision}: 2048x2048 matmul {peak['matmul']:.0f} GFLOP/s, 64->64 3x3 convolution (batch 60, "
            f"32x32, the faster layout) {peak['conv']:.0f} GFLOP/s"
        )
    print(
        f"{'network':8s} {'FLOP/step':>10s} {'precision':>9s} {'steps/s':>9s} {'textbook':>9s} {'ratio':>6s} "
        f"{'GFLOP/s':>8s} {'of peak':>8s} {'peak RSS':>9s}"
    )
    results = []
    for network in networks:
        row = measure(network, members, steps, precisions, dataset)
        results.append(row)
        yardstick = "conv" if models.ARCHITECTURES[network]["conv_plan"] else "matmul"
        for precision in precisions:
            row[f"share_{precision}"] = row[f"gflops_{precision}"] / peaks[precision][yardstick]
            print(
                f"{network:8s} {row['flops_per_step'] / 1e6:9.1f}M {precision:>9s} {row[precision]:9.1f} "
                f"{row['textbook']:9.1f} {row['ratio_' + precision]:6.2f} {row['gflops_' + precision]:8.1f} "
                f"{100 * row['share_' + precision]:7.0f}% {row['peak_rss_mib']:5.0f} MiB"
            )
    print("steps/s: one network taking one optimiser step; of peak: against the matmul (LeNet) or convolution peak")
    print(
        f"bound: memory {bandwidth:.1f} GB/s (a copy of 256 MiB), small products {product:.0f} GFLOP/s (60x784 by "
        f"784x300, K={members}); a step moves at least {ADAM_BYTES_PER_WEIGHT} bytes per weight (Adam, float32)"
    )
    for row in results:
        arch = models.build(row["network"], dataset.input_shape, dataset.num_classes)
        bound = step_bound(arch, product, bandwidth)
        row["bound"] = bound
        best = max(row[p] for p in precisions)
        print(
            f"{row['network']}'s bound: compute {bound['compute']:.0f} steps/s, memory {bound['memory']:.0f} "
            f"({bound['bytes'] / 1e6:.1f} MB a step), both in turn {bound['serial']:.0f}; lthlib at "
            f"{100 * best / bound['serial']:.0f} % of the last"
        )
    for row in results:
        arch = models.build(row["network"], dataset.input_shape, dataset.num_classes)
        probe_ms = 1000 * sign_probe_seconds(arch, members)
        between = PROBE_INTERVAL * members / row["float32" if "float32" in precisions else precisions[0]]
        row["sign_probe_share"] = probe_ms / 1000 / between
        print(
            f"{row['network']}'s sign probe, K={members}: {probe_ms:.1f} ms a call, "
            f"{100 * row['sign_probe_share']:.2f} % of the {PROBE_INTERVAL} steps between two evaluations"
        )
    for network in [n for n in networks if models.ARCHITECTURES[n]["conv_plan"]]:
        print(f"{network}'s convolutions alone, forward and backward, K={members}: member-steps/s")
        for row in conv_layouts(network, dataset, members, max(1, steps // 10), precisions):
            print(
                f"  {row['precision']:9s} {row['path']:24s} {row['layout']:13s} {row['member_steps_per_second']:8.1f}"
            )
    return results
