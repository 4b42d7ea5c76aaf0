import pytest
import torch

from labs.core.errors import LabsError
from labs.core.models import CLASSIFIERS, MLP, MODELS, PlainCNN, ResidualMLP, ResNet, build_model, count_parameters


def _freeze(model, prefixes):
    for name, p in model.named_parameters():
        if any(name.startswith(pre + ".") for pre in prefixes):
            p.requires_grad_(False)
    return count_parameters(model, trainable_only=True)


def test_resnet77_parameter_counts_match_the_seed():
    assert count_parameters(ResNet(depth=(7, 7), widths=(16, 32), num_classes=100)) == 162_644
    assert _freeze(ResNet(num_classes=100), ["stem"]) == 162_180
    assert _freeze(ResNet(num_classes=100), ["stem", "stages.0"]) == 129_188
    assert count_parameters(ResNet(num_classes=10)) == 162_644 - 90 * 33


def test_plain_cnn_is_resnet_without_skips():
    plain, res = PlainCNN(depth=(2, 2)), ResNet(depth=(2, 2))
    # the only extra parameters of the ResNet are the two 1x1 projection shortcuts (conv + BN)
    assert count_parameters(res) - count_parameters(plain) == (16 * 16 + 32) + (16 * 32 + 64)
    assert not any("shortcut" in n for n, _ in plain.named_parameters())


def test_mlp_and_residual_mlp_share_every_parameter_shape():
    a, b = MLP(depth=16, width=32), ResidualMLP(depth=16, width=32)
    assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]
    assert sum(isinstance(m, torch.nn.Linear) for m in a.modules()) == 16
    assert count_parameters(a) == 784 * 32 + 32 + 14 * (32 * 32 + 32) + 32 * 10 + 10


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_every_model_maps_images_to_logits(name):
    kwargs = {"depth": 4} if "mlp" in name else {"depth": (1, 1)}
    model = build_model(name, num_classes=7, in_channels=3, image_size=16, **kwargs)
    assert model(torch.randn(5, 3, 16, 16)).shape == (5, 7)


@pytest.mark.parametrize("kwargs", [{"depth": (0, 2)}, {"depth": (500, 2)}, {"depth": (2,), "widths": (16, 32)},
                                    {"widths": (0, 32)}])
def test_bad_resnet_arguments_raise_a_clear_error(kwargs):
    with pytest.raises(LabsError, match="depth|width|blocks"):
        ResNet(**kwargs)


def test_bad_names_and_depths():
    with pytest.raises(LabsError, match="unknown model 'vgg'.*resnet"):
        build_model("vgg")
    with pytest.raises(LabsError, match="from 3 to 100"):
        MLP(depth=0)
    with pytest.raises(LabsError, match="from 3 to 100"):
        MLP(depth=500)


def test_the_autoencoder_reconstructs_its_input_shape_and_is_the_one_non_classifier():
    model = build_model("conv_autoencoder")
    x = torch.randn(2, 3, 32, 32)
    assert model(x).shape == x.shape
    assert set(MODELS) - set(CLASSIFIERS) == {"conv_autoencoder"}
    assert count_parameters(model) == 55_343  # the committed autoencoder_cifar10 checkpoint's count
