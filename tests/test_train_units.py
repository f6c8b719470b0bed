"""Training parts against plain re-implementations: lr steps, rescoring, OKS-NMS, COCO AP, group BatchNorm,
batches, frozen stages, new heads, checkpoints that `run` loads with their layout."""
import dataclasses

import numpy as np
import pytest
import torch

from posetrack.keypoints import COCO, POSETRACK18, KeypointLayout
from posetrack.models.registry import build_pose_model, load_model_config
from posetrack.training.batchnorm import group_batchnorm
from posetrack.training.config import OptimizerSettings, load_train_config
from posetrack.training.dataset import EpochBatches
from posetrack.training.finetune import freeze_stages, head_sources, init_model
from posetrack.training.schedule import epoch_lr, step_lr
from posetrack.training.validation import coco_keypoint_stats, image_results, rescore

TINY = "hrnet_tiny_128x96"


def test_official_lr_steps_one_epoch_early():
    s = OptimizerSettings()
    assert [epoch_lr(s, e) for e in (0, 168, 169, 198, 199, 209)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])
    # torch's MultiStepLR stepped at the start of every epoch, as the official loop does
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [170, 200], 0.1)
    for epoch in range(210):
        opt.step()                                            # (keeps torch from warning about the order)
        sched.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(epoch_lr(s, epoch))


def test_mmpose_linear_warmup():
    s = OptimizerSettings(lr=5e-5, milestones=(20, 35), warmup_steps=200, warmup_ratio=0.001)
    assert step_lr(s, 0, 0) == pytest.approx(5e-5 * 0.001)
    assert step_lr(s, 0, 100) == pytest.approx(5e-5 * (1 - 0.5 * 0.999))
    assert step_lr(s, 1, 200) == pytest.approx(5e-5)


def test_rescore_equals_the_official_loop():
    rng = np.random.default_rng(1)
    kp = rng.uniform(0, 1, (20, 17, 3)).astype(np.float32)
    kp[3, :, 2] = 0.1                                         # no keypoint above 0.2: score 0
    box = rng.uniform(0.5, 1, 20)
    for n in range(20):
        total, count = 0, 0
        for j in range(17):
            t = kp[n, j, 2]
            if t > 0.2:
                total = total + t
                count += 1
        if count:
            total = total / count
        assert rescore(kp, box)[n] == total * box[n]


def test_oks_nms_keeps_the_best_of_duplicates_per_image():
    base = np.zeros((1, 17, 3), np.float32)
    base[0, :, 0] = np.arange(17) * 5 + 100
    base[0, :, 1] = np.arange(17) * 7 + 50
    base[0, :, 2] = 0.9
    dup = base.copy()
    dup[0, :, :2] += 0.5
    dup[0, :, 2] = 0.5
    far = base.copy()
    far[0, :, 0] += 300
    kp = np.concatenate([dup, base, far])
    out = image_results(3, kp, np.ones(3), np.full((3, 2), 1.0, np.float32), COCO)
    assert [r["score"] for r in out] == pytest.approx([0.9, 0.9])     # the duplicate of lower score went
    # equal scores: the official argsort()[::-1] visits the later person first
    assert out[0]["keypoints"][:3] == pytest.approx([400, 50, 0.9]) and out[1]["keypoints"][:3] == pytest.approx(
        [100, 50, 0.9]) and out[0]["image_id"] == 3


def _gt(people):
    images = [{"id": i} for i in range(len(people))]
    anns = []
    for i, kp in enumerate(people):
        x0, y0 = kp[:, 0].min(), kp[:, 1].min()
        w, h = np.ptp(kp[:, 0]), np.ptp(kp[:, 1])
        anns.append({"id": i + 1, "image_id": i, "category_id": 1, "iscrowd": 0, "area": float(w * h),
                     "bbox": [float(x0), float(y0), float(w), float(h)], "num_keypoints": 17,
                     "keypoints": np.concatenate([kp, np.full((17, 1), 2)], 1).ravel().tolist()})
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}


def test_coco_ap_is_one_for_perfect_and_drops_for_noisy_keypoints():
    rng = np.random.default_rng(0)
    people = [rng.uniform(0, 200, (17, 2)) for _ in range(6)]
    gt = _gt(people)
    perfect = [{"image_id": i, "category_id": 1, "score": 1.0,
                "keypoints": np.concatenate([kp, np.ones((17, 1))], 1).ravel().tolist()} for i, kp in enumerate(people)]
    stats = coco_keypoint_stats(gt, perfect, range(6), COCO.sigma_array())
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
    noisy = [dict(r, keypoints=(np.asarray(r["keypoints"]) + np.tile([8, 8, 0], 17)).tolist()) for r in perfect]
    assert coco_keypoint_stats(gt, noisy, range(6), COCO.sigma_array())["AP"] < 0.9
    assert coco_keypoint_stats(gt, [], range(6), COCO.sigma_array())["AP"] == 0


def test_group_batchnorm_normalises_each_group_and_keeps_the_first_groups_statistics():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 5, 4) * 3 + 1
    bn = torch.nn.BatchNorm2d(3)
    ref_a, ref_b = bn.train()(x[:4]).detach(), torch.nn.BatchNorm2d(3).train()(x[4:]).detach()
    mean_after_first = bn.running_mean.clone()
    grouped = group_batchnorm(torch.nn.Sequential(torch.nn.BatchNorm2d(3)), 4).train()
    y = grouped(x)
    torch.testing.assert_close(y, torch.cat([ref_a, ref_b]))
    torch.testing.assert_close(grouped[0].running_mean, mean_after_first)
    assert list(grouped.state_dict()) == list(torch.nn.Sequential(torch.nn.BatchNorm2d(3)).state_dict())


def test_batches_split_global_batches_between_ranks_and_resume_mid_epoch():
    one = list(EpochBatches(50, 8, seed=3, epoch=2))
    assert len(one) == 6 and all(len(b) == 8 for b in one)             # the incomplete last batch is dropped
    halves = [list(EpochBatches(50, 8, seed=3, epoch=2, rank=r, world=2)) for r in range(2)]
    assert [a + b for a, b in zip(*halves)] == one
    assert list(EpochBatches(50, 8, seed=3, epoch=2, start=4)) == one[4:]
    assert list(EpochBatches(50, 8, seed=3, epoch=3)) != one
    assert sorted(i for b in one for _, i in b) == sorted(set(i for b in one for _, i in b))


def test_freeze_stages_stops_gradients_and_batchnorm_updates():
    model = build_pose_model(TINY).train()
    frozen = freeze_stages(model, 2)
    assert frozen == ("conv1", "bn1", "conv2", "bn2", "layer1", "transition1", "stage2")
    assert not model.bn1.training and model.stage3.training
    assert all(not p.requires_grad for p in model.stage2.parameters())
    assert all(p.requires_grad for p in model.stage3.parameters())
    mean = model.bn1.running_mean.clone()
    model(torch.randn(2, 3, 128, 96)).sum().backward()
    torch.testing.assert_close(model.bn1.running_mean, mean)
    assert model.conv1.weight.grad is None and model.final_layer.weight.grad is not None


def test_new_layout_head_from_coco_weights(tmp_path):
    source = build_pose_model(TINY)
    torch.manual_seed(0)
    for p in source.parameters():
        p.data.normal_()
    path = tmp_path / "coco.pth"
    torch.save(source.state_dict(), path)
    cfg = load_model_config(TINY)
    mouse = KeypointLayout("mouse", ("nose", "tail", "left_ear"), (), (), (0.03, 0.08, 0.04))
    from posetrack.models.hrnet import HRNet

    target = HRNet(dataclasses.replace(cfg.hrnet_spec(), num_joints=3))
    record = init_model(target, cfg, str(path), mouse, {"tail": "left_ankle"}, seed=0)
    assert record["head"] == {"nose": "nose", "tail": "left_ankle", "left_ear": "left_ear"}
    torch.testing.assert_close(target.stage4[0].branches[0][0].conv1.weight, source.stage4[0].branches[0][0].conv1.weight)
    torch.testing.assert_close(target.final_layer.weight[1], source.final_layer.weight[15])
    torch.testing.assert_close(target.final_layer.bias[0], source.final_layer.bias[0])
    # posetrack18 from COCO: names match except head_bottom/head_top, which take the official init without head_init
    plan = head_sources(POSETRACK18, COCO, {})
    assert plan[0] == 0 and plan[1] is None and plan[2] is None and plan[5:] == list(range(5, 17))
    assert head_sources(POSETRACK18, COCO, {"head_top": "right_eye"})[2] == 2
    with pytest.raises(Exception, match="head_init: 'elbow' is not a keypoint"):
        head_sources(POSETRACK18, COCO, {"elbow": "nose"})


def test_official_init_when_no_weights():
    cfg = load_model_config(TINY)
    model = build_pose_model(TINY)
    init_model(model, cfg, None, COCO, {}, seed=0)
    w = model.stage3[0].branches[1][0].conv1.weight.detach()
    assert abs(float(w.std()) - 0.001) < 2e-4 and float(model.final_layer.bias.detach().abs().max()) == 0
    assert float(model.bn1.weight.detach().min()) == 1.0


def _saved(tmp_path, layout, name="ckpt.pth"):
    from posetrack.training.checkpoints import build_meta, save_checkpoint
    from posetrack.models.hrnet import HRNet

    cfg = load_model_config(TINY)
    model = HRNet(dataclasses.replace(cfg.hrnet_spec(), num_joints=layout.num_keypoints))
    save_checkpoint(tmp_path / name, model, build_meta(cfg, layout, load_train_config("tiny_synthetic"), "abc"))
    return tmp_path / name, model


def test_checkpoints_load_in_run_with_their_layout(tmp_path):
    from posetrack.models.checkpoint import read_state_dict
    from posetrack.pipeline.loading import build_estimator
    from posetrack.pipeline.options import RunOptions

    path, model = _saved(tmp_path, POSETRACK18)
    assert list(read_state_dict(path)) == list(model.state_dict())          # the official key layout, as saved
    loaded = build_pose_model(TINY, weights=str(path))
    assert loaded.config.layout is POSETRACK18
    torch.testing.assert_close(loaded.final_layer.weight, model.final_layer.weight)
    estimator = build_estimator(RunOptions(pose_model=TINY, pose_weights=str(path), device="cpu"), "cpu")
    assert estimator.layout.name == "posetrack18"
    mouse = KeypointLayout("mouse", ("nose", "left_ear", "right_ear"), ((0, 1),), ((1, 2),), (0.03, 0.04, 0.04))
    path, _ = _saved(tmp_path, mouse, "mouse.pth")
    loaded = build_pose_model(TINY, weights=str(path))
    assert loaded.config.layout == mouse and loaded.final_layer.out_channels == 3
    keypoints = estimator.__class__(loaded, device="cpu")(np.zeros((64, 64, 3), np.uint8), np.array([[5, 5, 40, 60]]))
    assert keypoints.shape == (1, 3, 3)


def test_a_checkpoint_trained_at_another_input_size_is_refused(tmp_path):
    path, _ = _saved(tmp_path, COCO)
    import yaml

    other = tmp_path / "other.yaml"
    from posetrack.config import config_path

    cfg = yaml.safe_load(open(config_path(TINY)))
    cfg["input_size"] = [96, 64]
    cfg["name"] = "other"
    other.write_text(yaml.safe_dump(cfg))
    with pytest.raises(Exception, match=r"was trained as pose model 'hrnet_tiny_128x96' \(128x96 input\)"):
        build_pose_model(str(other), weights=str(path))


def test_missing_packages_are_named_with_the_pip_command(monkeypatch):
    import importlib.util

    from posetrack.errors import MissingDependencyError
    from posetrack.training.trainer import _check_dependencies

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pycocotools" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r'training needs pycocotools: pip install "posetrack\[train\]"'):
        _check_dependencies(True, False)
    _check_dependencies(False, False)                  # no validation: no pycocotools needed


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("changes", [{"channels_last": True}, {"precision": "bf16"}])
def test_channels_last_and_mixed_precision_train_the_same_model(tmp_path, changes):
    from posetrack.training import train
    from posetrack.training.synthetic import make_stick_figures

    data = make_stick_figures(tmp_path / "toy", train=8, val=0)
    cfg = load_train_config("tiny_synthetic").replace(**{"optimizer.epochs": 1, "optimizer.batch_size": 8,
                                                         "data.val": None, "log_every": 1})
    base = train(cfg, data, tmp_path / "base", device="cpu")
    other = train(cfg.replace(**changes), data, tmp_path / "other", device="cpu")
    loss = [float((tmp_path / name / "log.csv").read_text().splitlines()[1].split(",")[4]) for name in ("base", "other")]
    # the first step's loss: the same network on the same crops (bf16 autocast rounds to ~3 digits)
    assert loss[0] == pytest.approx(loss[1], rel=1e-5 if "channels_last" in changes else 2e-2)
    assert base.steps == other.steps == 1


def test_nms_visits_equal_scores_in_the_official_order():
    # two identical people with equal scores: officially argsort()[::-1] visits the later one first
    kp = np.zeros((2, 17, 3), np.float32)
    kp[:, :, 0] = np.arange(17) * 3 + 10
    kp[:, :, 1] = 40
    kp[:, :, 2] = 0.8
    kp[1, 0, 0] += 1e-3                                     # tell them apart; OKS still ~1
    out = image_results(0, kp, np.ones(2), np.ones((2, 2), np.float32), COCO)
    assert len(out) == 1 and out[0]["keypoints"][0] == pytest.approx(kp[1, 0, 0])
    order = np.argsort(rescore(kp, np.ones(2)))[::-1]
    assert order[0] == 1
