"""Perceptual, texture, adversarial and TV losses, weighted sums, and the VGG feature extractor and its weights.

Values are derived by hand; VGG networks are randomly initialised, and weight files are served from 127.0.0.1.
"""

import hashlib
import math

import pytest
import torch
from hydra.utils import instantiate
from torch import nn
from torch.nn import functional as F

from conftest import closed_port_url, compose_train
from srlab.data.download import ChecksumError, DownloadError
from srlab.losses import AdversarialLoss, GramLoss, PerceptualLoss, TVLoss, VGGFeatures, WeightedSum
from srlab.losses import vgg as vgg_module
from srlab.losses.texture import gram_matrix
from srlab.losses.vgg import WEIGHTS, layer_names

# torchvision's VGG configurations ("M": max-pool) and classifier, from which its checkpoints' keys follow.
PUBLISHED_CFG = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", *[256] * 4, "M", *[512] * 4, "M", *[512] * 4, "M"],
}


def published_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    """{key: shape} of torchvision's `vgg16-397923af.pth` / `vgg19-dcbb9e9d.pth`."""
    shapes, index, in_channels = {}, 0, 3
    for v in PUBLISHED_CFG[arch]:
        if v == "M":
            index += 1
        else:  # a convolution and its ReLU
            shapes[f"features.{index}.weight"], shapes[f"features.{index}.bias"] = (v, in_channels, 3, 3), (v,)
            index, in_channels = index + 2, v
    for i, (out, inp) in zip((0, 3, 6), ((4096, 512 * 7 * 7), (4096, 4096), (1000, 4096))):
        shapes[f"classifier.{i}.weight"], shapes[f"classifier.{i}.bias"] = (out, inp), (out,)
    return shapes


def published_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """Tensors of the published names and shapes; every element of the n-th tensor is n (stored as one value)."""
    return {key: torch.tensor(float(n)).expand(shape) for n, (key, shape) in enumerate(published_shapes(arch).items())}



# --- texture ----------------------------------------------------------------------------------------


def test_gram_of_constant_maps_is_the_outer_product_of_the_constants():
    features = torch.stack([torch.full((4, 4), 2.0), torch.full((4, 4), 3.0)])[None]
    torch.testing.assert_close(gram_matrix(features), torch.tensor([[[[4.0, 6.0], [6.0, 9.0]]]]))


def test_patchwise_gram_on_a_two_patch_image():
    # Left 2x2 patch: channel 0 alternates +1/-1 along rows, channel 1 is 1 -> uncorrelated, each of mean square 1.
    # Right patch: channel 0 is 3, channel 1 is 0. A fifth column, beyond the last whole patch, is left out.
    left = torch.stack([torch.tensor([[1.0, -1.0], [1.0, -1.0]]), torch.ones(2, 2)])
    right = torch.stack([torch.full((2, 2), 3.0), torch.zeros(2, 2)])
    features = torch.cat([left, right, torch.full((2, 2, 1), 100.0)], dim=2)[None]  # (1, 2, 2, 5)
    gram = gram_matrix(features, patch_size=2)
    assert gram.shape == (1, 2, 2, 2)
    torch.testing.assert_close(gram[0, 0], torch.eye(2))
    torch.testing.assert_close(gram[0, 1], torch.tensor([[9.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="smaller than one 4x4"):
        gram_matrix(features, patch_size=4)


def test_gram_loss_patches_follow_each_layers_stride():
    torch.manual_seed(0)
    loss = GramLoss("vgg16", {"relu1_1": 0.5, "relu2_1": 2.0}, patch_size=16, pretrained=False)
    assert loss.patch_sizes == {"relu1_1": 16, "relu2_1": 8}  # 16 image pixels are 8 positions after pool1
    sr, hr = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    f, t = loss.vgg(sr), loss.vgg(hr)
    expected = sum(
        w * (gram_matrix(f[layer], p) - gram_matrix(t[layer], p)).pow(2).sum(dim=(-2, -1)).mean()
        for layer, w, p in (("relu1_1", 0.5, 16), ("relu2_1", 2.0, 8))
    )
    torch.testing.assert_close(loss(sr, hr), expected)
    assert loss(hr, hr).item() == 0.0
    with pytest.raises(ValueError, match="patch_size 6 is not a multiple of relu3_1's stride 4"):
        GramLoss("vgg16", {"relu3_1": 1.0}, patch_size=6, pretrained=False)


def test_mean_one_normalisation_divides_by_the_targets_mean_and_needs_positive_layers():
    torch.manual_seed(0)
    loss = PerceptualLoss("vgg16", {"relu1_2": 1.0}, criterion="mse", normalize=True, pretrained=False)
    sr, hr = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    f, t = loss.vgg(sr)["relu1_2"], loss.vgg(hr)["relu1_2"]
    torch.testing.assert_close(loss(sr, hr), F.mse_loss(f / t.mean(), t / t.mean()))
    for cls in (PerceptualLoss, GramLoss):
        with pytest.raises(ValueError, match=r"relu or pool layers .*conv2_2"):
            cls("vgg16", {"conv2_2": 1.0}, normalize=True, pretrained=False)


# --- perceptual ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("criterion", ["l1", "mse"])
def test_perceptual_loss_weighs_each_layers_distance(criterion):
    torch.manual_seed(0)
    loss = PerceptualLoss("vgg16", {"relu1_2": 0.5, "conv2_1": 2.0}, criterion=criterion, pretrained=False)
    sr, hr = torch.rand(2, 3, 16, 16, requires_grad=True), torch.rand(2, 3, 16, 16)
    f, t = loss.vgg(sr), loss.vgg(hr)
    distance = F.l1_loss if criterion == "l1" else F.mse_loss
    expected = 0.5 * distance(f["relu1_2"], t["relu1_2"]) + 2.0 * distance(f["conv2_1"], t["conv2_1"])
    value = loss(sr, hr)
    torch.testing.assert_close(value, expected)
    value.backward()
    assert sr.grad.abs().sum() > 0 and all(p.grad is None for p in loss.vgg.parameters())  # VGG stays frozen


def test_perceptual_and_texture_losses_are_float32_under_bf16_autocast():
    torch.manual_seed(0)
    sr, hr = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    for loss in (
        PerceptualLoss("vgg19", {"conv3_4": 1.0}, pretrained=False),
        GramLoss("vgg19", {"relu1_1": 1.0, "relu3_1": 1.0}, patch_size=16, normalize=True, pretrained=False),
    ):
        reference = loss(sr, hr)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            value = loss(sr, hr)
        assert value.dtype == torch.float32
        torch.testing.assert_close(value, reference, rtol=0.05, atol=0.0)


def test_bad_perceptual_arguments_name_the_value():
    with pytest.raises(ValueError, match="criterion 'l3'"):
        PerceptualLoss("vgg16", {"relu1_1": 1.0}, criterion="l3", pretrained=False)
    with pytest.raises(ValueError, match=r"\['relu5_5'\] are not among vgg19's.*relu5_4"):
        VGGFeatures("vgg19", ["relu5_5"], pretrained=False)
    with pytest.raises(ValueError, match="'vgg13' is not one of"):
        VGGFeatures("vgg13", ["relu1_1"], pretrained=False)
    with pytest.raises(ValueError, match=r"RGB images \(B, 3, H, W\), got shape \(2, 1, 8, 8\)"):
        VGGFeatures("vgg16", ["relu1_1"], pretrained=False)(torch.rand(2, 1, 8, 8))


# --- adversarial -------------------------------------------------------------------------------------


def test_vanilla_gan_is_binary_cross_entropy():
    zeros = torch.zeros(4, 1)
    loss = AdversarialLoss("vanilla")
    assert loss.generator(None, zeros).item() == pytest.approx(math.log(2))  # D(SR) = 1/2
    assert loss.discriminator(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    three_to_one = torch.full((2, 1, 4, 4), math.log(3))  # per-pixel logits: D = 3/4 everywhere
    assert loss.generator(None, three_to_one).item() == pytest.approx(-math.log(3 / 4))
    assert loss.discriminator(three_to_one, three_to_one).item() == pytest.approx(-math.log(3 / 4) - math.log(1 / 4))


def test_lsgan_and_hinge_by_hand():
    real, fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [2.0]])
    lsgan = AdversarialLoss("lsgan")
    assert lsgan.discriminator(real, fake).item() == pytest.approx((0 + 4) / 2 + (0 + 4) / 2)
    assert lsgan.generator(real, fake).item() == pytest.approx((1 + 1) / 2)
    hinge = AdversarialLoss("hinge")
    real, fake = torch.tensor([[0.5], [2.0]]), torch.tensor([[-2.0], [0.5]])
    assert hinge.discriminator(real, fake).item() == pytest.approx((0.5 + 0) / 2 + (0 + 1.5) / 2)
    assert hinge.generator(real, fake).item() == pytest.approx(-(-2.0 + 0.5) / 2)


def test_relativistic_average_terms_by_hand():
    # real logits 1, 3 (mean 2); fake logits 0, 2 (mean 1): real - mean(fake) = 0, 2; fake - mean(real) = -2, 0.
    real, fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [2.0]])
    loss = AdversarialLoss("ragan")
    # G: BCE(0, 2 -> 0) = [log 2 + log(1 + e^2)] / 2, BCE(-2, 0 -> 1) the same; their average.
    assert loss.generator(real, fake).item() == pytest.approx((math.log(2) + math.log(1 + math.e**2)) / 2)
    # D: BCE(0, 2 -> 1) = [log 2 + log(1 + e^-2)] / 2, BCE(-2, 0 -> 0) the same.
    assert loss.discriminator(real, fake).item() == pytest.approx((math.log(2) + math.log(1 + math.e**-2)) / 2)
    with pytest.raises(ValueError, match="logits on real images"):
        loss.generator(None, fake)
    with pytest.raises(ValueError, match="'wgan' is not one of vanilla, lsgan, hinge, ragan"):
        AdversarialLoss("wgan")


# --- TV and weighted sums ------------------------------------------------------------------------------


def test_total_variation_of_a_ramp():
    rows, cols = torch.meshgrid(torch.arange(5.0), torch.arange(7.0), indexing="ij")
    ramp = (0.1 * cols + 0.3 * rows).expand(2, 3, 5, 7)  # steps of 0.1 along rows, 0.3 down columns
    assert TVLoss()(ramp, None).item() == pytest.approx(0.1**2 + 0.3**2)
    assert TVLoss()(torch.full((1, 3, 4, 4), 0.7), None).item() == 0.0


def test_weighted_sum_adds_weighted_terms_and_keeps_each_for_logging():
    loss = WeightedSum({"pixel": nn.L1Loss(), "mse": nn.MSELoss()}, {"pixel": 2.0, "mse": 0.5})
    sr = torch.zeros(1, 3, 4, 4, requires_grad=True)
    total = loss(sr, torch.full((1, 3, 4, 4), 2.0))  # L1 = 2, MSE = 4
    assert total.item() == pytest.approx(2.0 * 2 + 0.5 * 4)
    assert {k: v.item() for k, v in loss.last.items()} == {"pixel": 4.0, "mse": 2.0}
    assert not any(v.requires_grad for v in loss.last.values())
    with pytest.raises(ValueError, match=r"terms \['a', 'b'\], weights \['a'\]"):
        WeightedSum({"a": nn.L1Loss(), "b": nn.L1Loss()}, {"a": 1.0})


# --- VGG features and weights ----------------------------------------------------------------------------


def test_layer_names_match_torchvisions_indices():
    assert len(layer_names("vgg16")) == 31 and len(layer_names("vgg19")) == 37
    assert layer_names("vgg19").index("conv5_4") == 34  # ESRGAN: features[:35], before the last ReLU
    assert layer_names("vgg19").index("relu5_4") == 35  # SRGAN: phi_5,4
    assert layer_names("vgg16").index("relu2_2") == 8  # Johnson et al.
    assert layer_names("vgg19")[-1] == "pool5" and layer_names("vgg19")[4] == "pool1"


def test_conv_layers_are_before_activation_and_relu_layers_after():
    torch.manual_seed(0)
    vgg = VGGFeatures("vgg19", ["conv1_1", "relu1_1", "pool1", "conv5_4", "relu5_4", "pool5"], pretrained=False)
    out = vgg(torch.rand(2, 3, 64, 64))
    assert out["conv1_1"].min() < 0 and out["conv5_4"].min() < 0  # before the ReLU: signed
    assert out["relu1_1"].min() >= 0 and out["relu5_4"].min() >= 0
    torch.testing.assert_close(out["relu1_1"], out["conv1_1"].clamp_min(0))
    torch.testing.assert_close(out["relu5_4"], out["conv5_4"].clamp_min(0))
    assert out["pool1"].shape == (2, 64, 32, 32) and out["pool5"].shape == (2, 512, 2, 2)
    assert len(vgg.features) == 37  # up to the deepest layer asked for


def test_input_is_normalised_with_imagenet_statistics():
    vgg = VGGFeatures("vgg16", ["conv1_1"], pretrained=False)
    conv = vgg.features[0]
    with torch.no_grad():  # output channel k copies input channel k
        conv.weight.zero_()
        conv.bias.zero_()
        for k in range(3):
            conv.weight[k, k, 1, 1] = 1.0
    x = torch.rand(2, 3, 8, 8)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(vgg(x)["conv1_1"][:, :3], (x - mean) / std)


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_a_checkpoint_with_torchvisions_names_and_shapes_loads(arch, tmp_path):
    path = tmp_path / WEIGHTS[arch][0]
    published = published_state_dict(arch)
    torch.save(published, path, _use_new_zipfile_serialization=False)  # the published files' (legacy) format
    vgg = VGGFeatures(arch, ["pool5"], weights_path=path)
    own = dict(vgg.features.named_parameters())
    assert {f"features.{k}" for k in own} == {k for k in published if k.startswith("features.")}
    for name, param in own.items():
        torch.testing.assert_close(param, published[f"features.{name}"])  # each tensor in its own place
        assert not param.requires_grad

    truncated = {k: v for k, v in published.items() if k != "features.2.weight"}
    torch.save(truncated, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="has no features.2.weight"):
        VGGFeatures(arch, ["relu1_2"], weights_path=tmp_path / "bad.pth")
    with pytest.raises(FileNotFoundError, match="absent.pth does not exist"):
        VGGFeatures(arch, ["relu1_2"], weights_path=tmp_path / "absent.pth")
    (tmp_path / "cut.pth").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(RuntimeError, match="cannot read the VGG weights .*cut.pth"):
        VGGFeatures(arch, ["relu1_2"], weights_path=tmp_path / "cut.pth")


def test_vgg_weights_stay_out_of_state_dicts_and_checkpoints_load_without_them():
    torch.manual_seed(0)
    loss = WeightedSum({"vgg": PerceptualLoss("vgg16", {"relu2_2": 1.0}, pretrained=False), "l1": nn.L1Loss()},
                       {"vgg": 1.0, "l1": 1.0})  # fmt: skip
    system = nn.ModuleDict({"net": nn.Conv2d(3, 3, 3), "loss": loss})
    state = system.state_dict()
    assert sorted(state) == ["net.bias", "net.weight"]

    before = [p.clone() for p in loss.terms["vgg"].parameters()]
    system.load_state_dict(state)  # strict: the absent VGG keys are not missing
    assert all(torch.equal(a, b) for a, b in zip(before, loss.terms["vgg"].parameters()))
    system.train()
    assert not loss.terms["vgg"].vgg.training  # always in eval mode


def test_missing_weights_offline_name_the_file_and_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(vgg_module, "BASE_URL", closed_port_url(""))
    folder = tmp_path / "weights"
    with pytest.raises(DownloadError) as failure:
        VGGFeatures("vgg19", ["relu5_4"], weights_path=folder)
    message = str(failure.value)
    assert "vgg19-dcbb9e9d.pth" in message and f"in the folder {folder}" in message
    assert not (folder / "vgg19-dcbb9e9d.pth").exists()


def test_download_checks_the_hash_and_loads(tmp_path, monkeypatch, server):
    torch.save(published_state_dict("vgg16"), tmp_path / "served.pth")
    body = (tmp_path / "served.pth").read_bytes()
    filename = "vgg16-397923af.pth"
    server.serve(filename, body)
    monkeypatch.setattr(vgg_module, "BASE_URL", server.url(""))

    with pytest.raises(ChecksumError, match="vgg16-397923af.pth"):  # not the published file
        VGGFeatures("vgg16", ["relu1_2"], weights_path=tmp_path / "a")
    assert not (tmp_path / "a" / filename).exists() and (tmp_path / "a" / f"{filename}.corrupt").exists()

    monkeypatch.setitem(WEIGHTS, "vgg16", (filename, hashlib.sha256(body).hexdigest()))
    vgg = VGGFeatures("vgg16", ["relu1_2"], weights_path=tmp_path / "b")
    assert (tmp_path / "b" / filename).read_bytes() == body
    assert vgg.features[2].weight.flatten()[0].item() == 2.0  # features.2.weight is the third published tensor


def test_pinned_hashes_agree_with_the_prefixes_in_the_published_names():
    for arch, (filename, sha256) in WEIGHTS.items():
        prefix = filename.removesuffix(".pth").rpartition("-")[2]
        assert filename.startswith(arch) and len(sha256) == 64 and sha256.startswith(prefix)


# --- configs --------------------------------------------------------------------------------------------

CONFIGS = {
    "perceptual_srgan": {"vgg": 1 / 12.75**2},
    "esrgan": {"pixel": 1.0e-2, "vgg": 1.0},
    "enhancenet_pat": {"perceptual": 1.0, "texture": 1.0},
    "perceptual_johnson": {"feature": 1.0, "tv": 1.0},
}


@pytest.mark.parametrize("name", CONFIGS)
def test_paper_loss_configs_build_weighted_sums(name, tmp_path):
    vgg_terms = [t for t in CONFIGS[name] if t not in ("pixel", "tv")]
    cfg = compose_train([f"loss={name}", *[f"loss.terms.{t}.pretrained=false" for t in vgg_terms]], tmp_path)
    for t in vgg_terms:
        assert cfg.loss.terms[t].weights_path == f"{cfg.paths.data_dir}/weights"
    loss = instantiate(cfg.loss)
    assert isinstance(loss, WeightedSum) and loss.weights == pytest.approx(CONFIGS[name])
    value = loss(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32))
    assert torch.isfinite(value) and set(loss.last) == set(CONFIGS[name])
