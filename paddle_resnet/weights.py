"""Pretrained weights (placeholder until the weights issue lands)."""


def load_pretrained(model, name, source):
    raise NotImplementedError(
        f"pretrained weights for {name} are not available yet in paddle_resnet; build the model with "
        "pretrained=False and load a state dict with model.set_state_dict(paddle.load(path))"
    )
