"""At home in a notebook: verification results and diffs render as tables (``_repr_markdown_``, ``_repr_html_``,
what Jupyter and AI Studio call), with every cell escaped; results say "absent" for a value one side lacks. (The
summary's own reprs: tests/test_summary.py.)"""

from __future__ import annotations

import paddle
import pytest

from paddle_resnet import create_model, diff_models, record_structure, check_structure
from paddle_resnet.verification.compare import LayerDifference
from paddle_resnet.verification.verify import VerifyResult


def _lazy(name, **options):
    with paddle.LazyGuard():  # structure only: no weights
        return create_model(name, **options)


def test_a_failed_check_shows_as_tables(tmp_path):
    path = tmp_path / "golden.json"
    record_structure(_lazy("resnet20"), path, (1, 3, 32, 32), name="mine")
    result = check_structure(_lazy("resnet20", num_classes=3), path)
    assert not result.ok
    markdown = result._repr_markdown_()
    assert markdown.startswith("**mine: MISMATCH at input [1, 3, 32, 32] (train mode)**\n\n| metric ")
    assert "| params.total " in markdown and "- fc: features [64, 10] -> [64, 3]" in markdown
    html = result._repr_html_()
    assert html.startswith("<p>mine: MISMATCH at input [1, 3, 32, 32] (train mode)</p>\n<table>")
    assert "<li>fc: features [64, 10] -&gt; [64, 3]" in html  # escaped
    passed = check_structure(_lazy("resnet20"), path)
    assert passed._repr_markdown_() == f"**{passed.report()}**\n" and "<table>" not in passed._repr_html_()


def test_absent_values_are_said_in_words():
    result = VerifyResult("net", [1, 3, 32, 32], mismatches=[("layer_counts.GELU", None, 4)])
    assert "layer_counts.GELU: absent -> 4" in result.report()
    assert "<td style=\"text-align:left\">absent</td>" in result._repr_html_()
    assert LayerDifference("changed", "act", {"approximate": (None, False)}).describe() == \
        "act: approximate absent -> False"


def test_a_diff_shows_as_tables():
    diff = diff_models(_lazy("resnet20"), _lazy("resnet20", num_classes=3), (1, 3, 32, 32),
                       labels=("resnet20", "resnet20 <3 classes>"))
    assert diff._repr_markdown_() == diff.render("markdown")
    html = diff._repr_html_()
    assert html.startswith("<table>") and "resnet20 &lt;3 classes&gt;" in html and "<3 classes>" not in html
    assert "compared by path: 1 row differs" in html and "<li>fc: features [64, 10] -&gt; [64, 3]" in html


def test_list_models_by_pattern_and_published_weights():
    from paddle.vision.models import resnet as vision_resnet
    from paddle_resnet import list_models

    assert list_models("resnet50*") == ["resnet50", "resnet50_vd"]
    from paddle_resnet.models.table import ARCHITECTURES

    assert list_models() == list_models("*") and set(list_models()) == set(ARCHITECTURES)
    with_weights = list_models(pretrained=True)
    # paddle.vision publishes ImageNet weights for these (its own table, read from Paddle here)
    assert set(vision_resnet.model_urls) <= set(with_weights)
    assert "resnet20" not in with_weights and "resnet18d" not in with_weights  # none published for these
    # PaddleClas's model zoo lists SSLD weights for three ResNet-D rows
    assert list_models("*_vd", pretrained="ssld") == ["resnet34_vd", "resnet50_vd", "resnet101_vd"]
    with pytest.raises(ValueError, match="pretrained='imagenet21k': expected True, False or 'ssld'"):
        list_models(pretrained="imagenet21k")
    with pytest.raises(TypeError, match="pattern=50: expected a string"):
        list_models(50)
