"""`srlab models`: the zoo listing's parameters and FLOPs."""

import pytest

from srlab.cli.zoo import CONF, describe, main, rows, zoo


def compose_net(name: str):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"model={name}", "data=folder", "data.train=[]", "data.val={x:[]}"])
    return cfg.model.net


def test_fsrcnn_parameters_and_flops_by_hand():
    info = describe("fsrcnn", compose_net("fsrcnn"))
    assert info.build_scales == () and list(info.params) == [2, 3, 4] and info.input == "Y, LR"
    assert info.switches_to == "the built one"
    assert set(info.params.values()) == {12809}
    # Multiply-adds per LR pixel: the convolutions' and the 9x9 deconvolution's weights, 12,464;
    # an output megapixel at x3 has 1e6 / 9 LR pixels; 2 FLOPs per multiply-add.
    assert info.gflops_per_mp[3] == pytest.approx(2 * 12464 / 9 * 1e6 / 1e9, rel=1e-3)


def test_rows_and_markdown(capsys):
    info = describe("edsr_baseline", compose_net("edsr_baseline"))
    (row,) = rows([info])
    assert row[:5] == ["edsr_baseline", "EDSR", "RGB, LR", "x2 x3 x4", "the built one"]
    assert row[5] == "1,369,859 / 1,554,499 / 1,517,571"
    ms_lapsrn, vdsr = rows([describe(name, compose_net(name)) for name in ("ms_lapsrn", "vdsr")])
    assert ms_lapsrn[3:5] == ["x2 x4 x8", "x2, x4, x8"] and vdsr[3:5] == ["any (x2 x3 x4 listed)", "any scale"]
    with pytest.raises(SystemExit):
        main(["nothing"])


@pytest.mark.slow
def test_every_model_config_is_listed(capsys):
    infos = zoo()
    assert {i.name for i in infos} == {p.stem for p in (CONF / "model").glob("*.yaml") if not p.stem.startswith("_")}
    assert all(f > 0 for i in infos for f in i.gflops_per_mp.values())
    main(["models", "--markdown"])
    assert capsys.readouterr().out.count("\n") == len(infos) + 2
