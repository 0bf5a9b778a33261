"""What ``ResNet.forward`` accepts: a float tensor of the weights' dtype, [batch >= 1, C, H >= 1, W >= 1].

Everything else is refused before Paddle's kernels see it, with the accepted form and how to convert: Paddle
would fail deep inside (``The kernel with key ... int64 of kernel conv2d is not registered``), or, for an
empty image, answer with NaN or the classifier's bias.
"""

from __future__ import annotations

import re

import numpy as np
import paddle
import pytest

from paddle_resnet import create_model


@pytest.fixture(scope="module")
def model():
    model = create_model("resnet20")
    model.eval()
    return model


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_input_is_refused_with_the_accepted_dtype(model, dtype):
    with pytest.raises(TypeError, match=rf"expected a floating-point input \(float32, the dtype of the model's "
                                        rf"weights\), got {dtype}; convert it with x.astype\('float32'\)"):
        model(paddle.zeros([1, 3, 32, 32], dtype=dtype))


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_a_float_of_another_dtype_is_refused_not_cast(model, dtype):
    with pytest.raises(TypeError, match=rf"expected a float32 input \(the dtype of the model's weights\), got "
                                        rf"{dtype}; convert it with x.astype\('float32'\), or run the model under "
                                        r"paddle.amp.auto_cast"):
        model(paddle.zeros([1, 3, 32, 32], dtype=dtype))


def test_the_accepted_dtype_follows_the_weights():
    model = create_model("resnet20", num_classes=4)
    model.eval()
    model.to(dtype="float64")
    assert model(paddle.zeros([2, 3, 32, 32], dtype="float64")).shape == [2, 4]
    with pytest.raises(TypeError, match=r"expected a float64 input .* got float32"):
        model(paddle.zeros([2, 3, 32, 32]))


@pytest.mark.parametrize("value", [np.zeros((1, 3, 32, 32), "float32"), [[0.0]], 1.0])
def test_a_non_tensor_is_refused_with_how_to_convert_it(model, value):
    with pytest.raises(TypeError, match=r"expected a paddle.Tensor of shape \[batch, 3, height, width\], got "
                                        r"(numpy.ndarray|builtins.list|builtins.float); convert it with "
                                        r"paddle.to_tensor\(x, dtype='float32'\)"):
        model(value)


@pytest.mark.parametrize("shape", [[0, 3, 32, 32], [1, 3, 0, 0], [1, 3, 32, 0]])
def test_an_empty_batch_or_image_is_refused(model, shape):
    with pytest.raises(ValueError, match=r"at least one image of at least 1x1 pixels, got " + re.escape(str(shape))):
        model(paddle.zeros(shape))


def test_the_smallest_accepted_input_runs(model):
    assert model(paddle.zeros([1, 3, 1, 1])).shape == [1, 10]


@pytest.mark.slow  # fast sibling: test_export.py::test_export_rejects_bad_arguments_and_writes_nothing
def test_export_traces_the_checked_forward(tmp_path):
    """In a traced graph the batch size is dynamic (-1, or a tensor): the checks must let it through."""
    from paddle_resnet import Predictor, export

    model = create_model("resnet20")
    export(model, str(tmp_path / "m"), input_size=(3, 32, 32))
    static = paddle.jit.to_static(model, input_spec=[paddle.static.InputSpec([None, 3, 32, 32], "float32")])
    model.eval()
    images = np.random.RandomState(0).standard_normal((2, 3, 32, 32)).astype("float32")
    expected = model(paddle.to_tensor(images)).numpy()
    np.testing.assert_allclose(static(paddle.to_tensor(images)).numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(Predictor(str(tmp_path / "m"), device="cpu")(images), expected, rtol=1e-4, atol=1e-4)
