"""The networks of Frankle & Carbin, written so K independent copies train as one computation.

A network's parameters are dictionaries ``{layer name: tensor}`` whose first
dimension is the member index k = 0..K-1: fully-connected weights are
``(K, out, in)``, convolution weights ``(K, out, in, 3, 3)``, biases
``(K, out)``. Fully-connected layers run as one batched matrix product
(``torch.baddbmm``) over all K members; convolutions run member by member
inside the same step (on a CPU this is faster than a grouped convolution, and
the optimiser, masking, data gathering and evaluation stay batched).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

POOL = "M"


@dataclass(frozen=True)
class Layer:
    """One prunable layer. ``kind`` is ``conv``, ``fc`` or ``output``; ``shape`` is one member's weight shape."""

    name: str
    kind: str
    shape: tuple[int, ...]

    @property
    def fan_in(self) -> int:
        return math.prod(self.shape[1:])

    @property
    def fan_out(self) -> int:
        return self.shape[0] * math.prod(self.shape[2:])


@dataclass(frozen=True)
class Architecture:
    """A network's plan: conv channels (``"M"`` for 2x2 max-pooling), hidden fc widths, classes."""

    name: str
    conv_plan: tuple
    hidden: tuple[int, ...]
    input_shape: tuple[int, ...]
    num_classes: int
    layers: tuple[Layer, ...]

    def layer(self, name: str) -> Layer:
        return next(layer for layer in self.layers if layer.name == name)


# Frankle & Carbin, Figure 2 (3x3 convolutions, 'same' padding).
ARCHITECTURES = {
    "lenet": dict(conv_plan=(), hidden=(300, 100)),
    "conv2": dict(conv_plan=(64, 64, POOL), hidden=(256, 256)),
    "conv4": dict(conv_plan=(64, 64, POOL, 128, 128, POOL), hidden=(256, 256)),
    "conv6": dict(conv_plan=(64, 64, POOL, 128, 128, POOL, 256, 256, POOL), hidden=(256, 256)),
}


# The papers' names of the networks, for tables and figures.
NETWORK_NAMES = {"lenet": "LeNet-300-100", "conv2": "Conv-2", "conv4": "Conv-4", "conv6": "Conv-6"}


def build(name: str, input_shape: tuple[int, ...], num_classes: int) -> Architecture:
    """The architecture ``name`` for inputs of ``input_shape`` (C, H, W) or (L,)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown network {name!r}; valid: {', '.join(ARCHITECTURES)}")
    plan = ARCHITECTURES[name]
    conv_plan, hidden = plan["conv_plan"], plan["hidden"]
    if conv_plan and len(input_shape) != 3:
        raise ValueError(f"network {name!r} needs image inputs (C, H, W), got shape {input_shape}")
    layers = []
    channels = input_shape[0] if conv_plan else None
    side = list(input_shape[1:]) if conv_plan else None
    for entry in conv_plan:
        if entry == POOL:
            side = [s // 2 for s in side]
            continue
        layers.append(Layer(f"conv{len(layers) + 1}", "conv", (entry, channels, 3, 3)))
        channels = entry
    width = channels * math.prod(side) if conv_plan else math.prod(input_shape)
    for index, units in enumerate(hidden, start=1):
        layers.append(Layer(f"fc{index}", "fc", (units, width)))
        width = units
    layers.append(Layer("output", "output", (num_classes, width)))
    return Architecture(name, conv_plan, hidden, tuple(input_shape), num_classes, tuple(layers))


def glorot_normal(layer: Layer, generator: torch.Generator) -> torch.Tensor:
    """One member's weights, N(0, 2 / (fan_in + fan_out)) as in the paper; float32 on the CPU."""
    std = math.sqrt(2.0 / (layer.fan_in + layer.fan_out))
    return torch.randn(layer.shape, generator=generator) * std


def initialise(arch: Architecture, generators: list[torch.Generator], device) -> tuple[dict, dict]:
    """Weights ``{name: (K, *shape)}`` (Glorot normal, one generator per member) and zero biases ``{name: (K, out)}``.

    Drawn on the CPU so that the same seed gives the same network on every device.
    """
    weights = {
        layer.name: torch.stack([glorot_normal(layer, g) for g in generators]).to(device) for layer in arch.layers
    }
    biases = {layer.name: torch.zeros(len(generators), layer.shape[0], device=device) for layer in arch.layers}
    return weights, biases


class MaskedLinear(torch.autograd.Function):
    """K masked fully-connected layers as one batched product, with a hand-written backward.

    ``h``: (K, B, in) or shared (B, in); ``w``, ``mask``, ``frozen``: (K, out, in)
    (``mask``/``frozen`` may be ``None``: all kept / zero); ``b``: (K, out).
    Computes ``h @ (w * mask + frozen)^T + b`` in ``dtype``; with ``zeroed``,
    ``w`` is already zero where the mask is 0 (weight training keeps pruned
    weights at zero), so the forward pass computes with ``w + frozen`` and
    needs no masked copy of the weights. The backward multiplies the weight gradient
    by the mask (the chain rule of the reparametrisation), so pruned weights
    stay exactly zero, writes it in ``w``'s own layout without a transposed
    copy, skips the input gradient when the input needs none, and gives the
    mask its gradient ``dL/d(effective) * w`` when the mask is trained (learned masks).
    """

    @staticmethod
    def forward(ctx, h, w, mask, frozen, b, dtype, zeroed=False):
        effective = masked_weight(w, None if zeroed else mask, frozen).to(dtype)
        h = h.to(dtype)
        if h.dim() == 2:  # one input batch shared by all members (evaluation)
            h = h.expand(effective.shape[0], -1, -1)
        mask_trained = mask is not None and mask.requires_grad
        ctx.save_for_backward(h, effective, mask, w if mask_trained else None)
        return _member_bmm(h, effective.transpose(1, 2), b.unsqueeze(1).to(dtype)).float()

    @staticmethod
    def backward(ctx, grad):
        h, effective, mask, w = ctx.saved_tensors
        grad = grad.to(effective.dtype)
        grad_h = _member_bmm(grad, effective).float() if ctx.needs_input_grad[0] else None
        grad_effective = _member_bmm(grad.transpose(1, 2), h).float()
        grad_mask = grad_effective * w if ctx.needs_input_grad[2] else None
        grad_w = None
        if ctx.needs_input_grad[1]:
            grad_w = grad_effective.mul_(mask) if mask is not None else grad_effective
        grad_b = grad.float().sum(1) if ctx.needs_input_grad[4] else None
        return grad_h, grad_w, grad_mask, None, grad_b, None, None


def _member_bmm(a: torch.Tensor, b: torch.Tensor, add: torch.Tensor | None = None) -> torch.Tensor:
    """``a @ b (+ add)`` batched over members, bit-identical for a member whatever the batch size.

    A batch of one member goes to a plain GEMM whose kernel sums in another
    order than the batched one for some shapes (e.g. 100 -> 10), so a lone
    member is computed as a batch of two and the copy dropped.
    """
    lone = a.shape[0] == 1
    if lone:
        a, b = a.expand(2, -1, -1), b.expand(2, -1, -1)
        add = add.expand(2, -1, -1) if add is not None else None
    out = torch.bmm(a, b) if add is None else torch.baddbmm(add, a, b)
    return out[:1] if lone else out


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}

# Whether the convolutions after the first run in channels-last layout, per precision. On a 2-core CPU, member-steps/s
# of whole training steps, contiguous against channels-last: float32 Conv-2 18.4 / 19.0, Conv-4 10.9 / 11.8 (8
# members in pairs, best of 3 rounds); bfloat16 Conv-2 21.2 / 24.9, Conv-4 15.4 / 20.8 (6 members, 40 steps, two
# rounds). In bfloat16 the forward pass alone (evaluation) is 2.7 times faster channels-last.
CHANNELS_LAST = {"float32": True, "bfloat16": True}


def forward(
    arch: Architecture,
    weights: dict,
    biases: dict,
    x: torch.Tensor,
    masks: dict | None = None,
    frozen: dict | None = None,
    dropout: float = 0.0,
    precision: str = "float32",
    dropout_generators: list | None = None,
    zeroed: bool = False,
) -> torch.Tensor:
    """Logits ``(K, B, classes)`` in float32.

    ``x`` is either one batch per member, ``(K, B, *input_shape)``, or one
    batch shared by all members, ``(B, *input_shape)`` (evaluation).
    ``masks``/``frozen``: ``{layer: (K, *shape)}`` masks and frozen
    values of pruned weights (missing = dense / zero); the network computes
    with ``w * mask + frozen``. ``zeroed``: the weights are already zero where
    the mask is 0, so the fully-connected layers use the mask only to keep the
    gradient of pruned weights at zero (see :class:`MaskedLinear`). ``dropout`` is the drop probability after each
    hidden fully-connected layer (0 = off), as in the paper's dropout
    experiments; member k draws its noise from ``dropout_generators[k]`` alone,
    so its result does not depend on the cohort it trains in. ``precision`` ``bfloat16`` computes products in bfloat16
    (float32 accumulation, weights and optimiser state stay float32).
    """
    masks, frozen = masks or {}, frozen or {}
    dtype = DTYPES[precision]
    members = next(iter(weights.values())).shape[0]
    shared = x.dim() == len(arch.input_shape) + 1
    if arch.conv_plan:
        conv_weights = {
            layer.name: masked_weight(weights[layer.name], masks.get(layer.name), frozen.get(layer.name))
            for layer in arch.layers
            if layer.kind == "conv"
        }
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            # in the compute dtype: the first fully-connected layer casts its input to it anyway
            h = _conv_stack(arch, conv_weights, biases, x, members, shared, CHANNELS_LAST[precision])
    else:
        h = x.flatten(1) if shared else x.flatten(2)
    for layer in arch.layers:
        if layer.kind == "conv":
            continue
        name = layer.name
        h = MaskedLinear.apply(h, weights[name], masks.get(name), frozen.get(name), biases[name], dtype, zeroed)
        if layer.kind == "fc":
            h = F.relu(h)
            if dropout:
                h = member_dropout(h, dropout, dropout_generators)
    return h


def member_dropout(h: torch.Tensor, p: float, generators: list) -> torch.Tensor:
    """Inverted dropout of ``h`` (K, B, F): member k's keep mask comes from ``generators[k]`` only."""
    if generators is None or len(generators) != h.shape[0]:
        raise ValueError(
            f"dropout needs one generator per member: {h.shape[0]} members, "
            f"{0 if generators is None else len(generators)} generators"
        )
    keep = torch.full(h.shape[1:], 1.0 - p, device=h.device)
    noise = torch.stack([torch.bernoulli(keep, generator=g) for g in generators])
    return h * noise / (1.0 - p)


def masked_weight(w, mask=None, frozen_pruned=None):
    """``w * mask + frozen_pruned``; ``frozen_pruned`` holds values at pruned places only (zero elsewhere)."""
    if mask is not None:
        w = w * mask
    if frozen_pruned is not None:
        w = w + frozen_pruned
    return w


def _conv_stack(arch, weights, biases, x, members, shared, channels_last: bool = False) -> torch.Tensor:
    """Convolutions and pooling, member by member; returns flattened features (K, B, F) in the usual order.

    ``channels_last``: every convolution after the first runs in that memory layout (see :data:`CHANNELS_LAST`).
    """
    layout = torch.channels_last if channels_last else torch.contiguous_format
    features = []
    for k in range(members):
        h = x if shared else x[k]
        conv_index = 0
        for entry in arch.conv_plan:
            if entry == POOL:
                h = F.max_pool2d(h, 2)
                continue
            conv_index += 1
            name = f"conv{conv_index}"
            w = weights[name][k]
            if conv_index > 1:
                h, w = h.contiguous(memory_format=layout), w.contiguous(memory_format=layout)
            h = F.relu(F.conv2d(h, w, biases[name][k], padding=1))
        features.append(h.flatten(1))
    return torch.stack(features)


def parameter_count(arch: Architecture) -> dict[str, int]:
    """Prunable weights per layer for one member."""
    return {layer.name: math.prod(layer.shape) for layer in arch.layers}
