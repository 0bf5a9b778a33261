"""Independent references the golden values are checked against; none of them is paddle_resnet's own model.

* ``closed_form``: every architecture described layer by layer from the papers (imports neither Paddle nor
  paddle_resnet);
* ``akamaster_cifar``: the most used PyTorch CIFAR ResNet, restated from its source with Paddle's functional
  ops (its option-A shortcut pads zeros on both sides; ours appends them);
* ``published``: numbers copied from published sources (torchvision's weights metadata, timm's results table,
  PaddleClas's model zoo, the paper's tables) and ``paddle.summary`` printouts of models built side by side;
* ``paddleclas``: PaddleClas's own ResNet code, imported from an installed ``paddleclas`` wheel, built side by side;
* ``timm_resnetd_keys.json``: the state-dict keys and shapes of timm's ResNet-D models (no PyTorch needed).
"""
