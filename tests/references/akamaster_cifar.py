"""akamaster's PyTorch CIFAR ResNet (github.com/akamaster/pytorch_resnet_cifar10, ``resnet.py``), restated with
Paddle's functional ops on a state dict in *its* naming. It does not use paddle_resnet.

What it computes, from that file: a 3x3 conv (16 channels) + BN + ReLU stem; three stages of ``n`` basic blocks
(16, 32, 64 channels; the first block of stages 2 and 3 has stride 2 on its first conv); each block
``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` where, when the shape changes, option A's shortcut is
``F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))``: zero channels on *both* sides; then global
average pooling and ``linear`` (a torch ``Linear``: ``x @ weight.T + bias``). BatchNorm eps is torch's 1e-5.
Keys: ``conv1.weight``, ``bn1.{weight,bias,running_mean,running_var,num_batches_tracked}``,
``layer{s}.{b}.conv{1,2}.weight``, ``layer{s}.{b}.bn{1,2}.*``, ``linear.{weight,bias}``, all under ``module.``
in the published checkpoints (saved from ``DataParallel``).
"""

import numpy as np
import paddle
import paddle.nn.functional as F


def random_state(blocks_per_stage: int = 3, num_classes: int = 10, seed: int = 0, prefix: str = "module."):
    """A state dict of that network with random values everywhere (BatchNorm statistics included)."""
    rng = np.random.RandomState(seed)
    state = {}

    def conv(key, out, inp):
        state[key + ".weight"] = (rng.randn(out, inp, 3, 3) * np.sqrt(2 / (9 * inp))).astype("float32")

    def bn(key, channels):
        state[key + ".weight"] = rng.uniform(0.5, 1.5, channels).astype("float32")
        state[key + ".bias"] = rng.uniform(-0.2, 0.2, channels).astype("float32")
        state[key + ".running_mean"] = rng.uniform(-0.2, 0.2, channels).astype("float32")
        state[key + ".running_var"] = rng.uniform(0.5, 1.5, channels).astype("float32")
        state[key + ".num_batches_tracked"] = np.array(100, dtype=np.int64)

    conv("conv1", 16, 3), bn("bn1", 16)
    inp = 16
    for stage, planes in enumerate((16, 32, 64), start=1):
        for block in range(blocks_per_stage):
            name = f"layer{stage}.{block}"
            conv(name + ".conv1", planes, inp), bn(name + ".bn1", planes)
            conv(name + ".conv2", planes, planes), bn(name + ".bn2", planes)
            inp = planes
    state["linear.weight"] = (rng.randn(num_classes, 64) * 0.1).astype("float32")
    state["linear.bias"] = (rng.randn(num_classes) * 0.1).astype("float32")
    return {prefix + key: value for key, value in state.items()}


def forward(state, x, blocks_per_stage: int = 3):
    """The network's logits for the NCHW batch ``x`` (a Paddle tensor), in eval mode."""
    state = {key[len("module."):] if key.startswith("module.") else key: paddle.to_tensor(value)
             for key, value in state.items()}

    def bn(x, key):
        return F.batch_norm(x, state[key + ".running_mean"], state[key + ".running_var"], state[key + ".weight"],
                            state[key + ".bias"], training=False, epsilon=1e-5)

    out = F.relu(bn(F.conv2d(x, state["conv1.weight"], padding=1), "bn1"))
    inp = 16
    for stage, planes in enumerate((16, 32, 64), start=1):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 1 and block == 0 else 1
            name = f"layer{stage}.{block}"
            branch = F.relu(bn(F.conv2d(out, state[name + ".conv1.weight"], stride=stride, padding=1), name + ".bn1"))
            branch = bn(F.conv2d(branch, state[name + ".conv2.weight"], padding=1), name + ".bn2")
            shortcut = out
            if stride != 1 or inp != planes:
                sub = out[:, :, ::2, ::2]
                zeros = paddle.zeros([sub.shape[0], planes // 4, sub.shape[2], sub.shape[3]], dtype=sub.dtype)
                shortcut = paddle.concat([zeros, sub, zeros], axis=1)  # = F.pad(..., planes // 4 on each side)
            out = F.relu(branch + shortcut)
            inp = planes
    pooled = out.mean(axis=[2, 3])
    return paddle.matmul(pooled, state["linear.weight"], transpose_y=True) + state["linear.bias"]
