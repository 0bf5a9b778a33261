"""The model-spec parser's old place: it is ``paddle_resnet.specs`` now (it serves the command line, and the name
collided with ``paddle_resnet.models``). Kept so that existing imports still work."""

from ..specs import (ModelSpec, ModelSpecError, build_model, build_traceable, default_input_size,  # noqa: F401
                     load_factory, parse_model_spec)
