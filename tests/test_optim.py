"""paddle_ner.optim: schedules, the optimiser choice, AdamDecayAfterUpdate against a float64
numpy reference of PaddleHub 1.x's rule, the clip-then-L2 order of a ParamAttr regularizer on
this Paddle, GradScaler skips, and state_dict/resume through the trainer's renaming."""
from __future__ import annotations

import re

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from paddle_ner.config import Config  # noqa: E402
from paddle_ner.optim import NO_DECAY, AdamDecayAfterUpdate, build_optimizer, lr_factor  # noqa: E402

B1, B2, EPS = 0.9, 0.999, 1e-8


# --------------------------------------------------------------------------- schedules


def test_linear_and_constant_unchanged():
    f = lr_factor("linear", 2, 10)
    assert [f(s) for s in range(12)] == [0.0, 0.5, 1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0.0, 0.0]
    c = lr_factor("constant", 3, 10)
    assert [c(s) for s in range(6)] == [0.0, 1 / 3, 2 / 3, 1.0, 1.0, 1.0]
    assert lr_factor("linear", 0, 4)(0) == 1.0


def test_paddlehub_schedule():
    """warmup lr*step/warmup (step 0: 0), then lr*(1 - min(step, total)/total): 0.9 right after a
    10 % warmup, 0 at total and after (PaddleHub's loop may run past max_train_steps)."""
    f = lr_factor("paddlehub", 5, 57)
    assert [f(s) for s in range(5)] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert f(5) == pytest.approx(1 - 5 / 57) and f(5) < 1.0
    assert f(56) == pytest.approx(1 / 57)
    assert f(57) == 0.0 and f(60) == 0.0 and f(10_000) == 0.0
    g = lr_factor("paddlehub", 0, 4)  # no warmup: decay from step 0
    assert [g(s) for s in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]


def test_unknown_schedule():
    with pytest.raises(ValueError, match="train.schedule must be one of linear, paddlehub, constant"):
        lr_factor("cosine", 1, 10)


# --------------------------------------------------------------------------- the optimiser choice


class Tiny(paddle.nn.Layer):
    def __init__(self, fc_l2=0.0):
        super().__init__()
        paddle.seed(0)
        self.encoder = paddle.nn.Linear(3, 4)
        self.norm = paddle.nn.LayerNorm(4)
        attr = paddle.ParamAttr(regularizer=paddle.regularizer.L2Decay(fc_l2)) if fc_l2 else None
        self.fc = paddle.nn.Linear(4, 2, weight_attr=attr)

    def forward(self, x):
        return self.fc(self.norm(self.encoder(x)))


def config(**train):
    cfg = Config()
    for key, value in train.items():
        setattr(cfg.train, key, value)
    return cfg


def test_build_optimizer_picks_by_the_fields():
    model = Tiny()
    opt, sched = build_optimizer(model, config(), 10)
    assert type(opt) is paddle.optimizer.AdamW
    opt, sched = build_optimizer(model, config(decay_after_update=True, schedule="paddlehub", warmup_proportion=0.1), 10)
    assert isinstance(opt, AdamDecayAfterUpdate)
    assert opt.get_lr() == 0.0  # warmup step 0
    decayed = {n for n, p in model.named_parameters() if opt._apply_decay_param_fun(p.name)}
    assert decayed == {"encoder.weight", "fc.weight"}  # no bias, no norm
    assert all(not any(k in n for k in NO_DECAY) for n in decayed)
    opt, _ = build_optimizer(model, config(optimizer="adam"), 10)
    assert type(opt) is paddle.optimizer.Adam
    with pytest.raises(ValueError, match="decay_after_update needs train.optimizer=adamw"):
        build_optimizer(model, config(optimizer="adam", decay_after_update=True), 10)
    opt, _ = build_optimizer(model, config(decay_after_update=True, adam_epsilon="paddle1"), 10)
    assert opt._plain_epsilon and not build_optimizer(model, config(decay_after_update=True), 10)[0]._plain_epsilon
    with pytest.raises(ValueError, match="adam_epsilon=paddle1 needs train.decay_after_update"):
        build_optimizer(model, config(adam_epsilon="paddle1"), 10)


# --------------------------------------------------------------------------- the update rule


def reference(params, grads_per_step, lrs, mults, decay, l2, wd, clip_norm, plain_epsilon):
    """float64 numpy: clip to global norm, + l2*p, Adam (epsilon plain = Paddle 1.8, or times
    sqrt(1 - beta2^t) = Paddle 2.x/3.x), then p -= p * wd * lr (global lr) where decay."""
    p = {n: v.copy() for n, v in params.items()}
    m = {n: np.zeros_like(v) for n, v in p.items()}
    v = {n: np.zeros_like(x) for n, x in p.items()}
    b1p, b2p = B1, B2
    for grads, lr in zip(grads_per_step, lrs):
        norm = np.sqrt(sum(float(np.sum(g ** 2)) for g in grads.values()))
        scale = clip_norm / max(norm, clip_norm)
        for n in p:
            g = grads[n] * scale + l2.get(n, 0.0) * p[n]
            m[n] = B1 * m[n] + (1 - B1) * g
            v[n] = B2 * v[n] + (1 - B2) * g * g
            lr_t = lr * mults.get(n, 1.0) * np.sqrt(1 - b2p) / (1 - b1p)
            eps = EPS if plain_epsilon else EPS * np.sqrt(1 - b2p)
            p[n] = p[n] - lr_t * m[n] / (np.sqrt(v[n]) + eps)
            if n in decay:
                p[n] = p[n] - p[n] * wd * lr
        b1p, b2p = b1p * B1, b2p * B2
    return p


def make_params(dtype="float64"):
    rng = np.random.RandomState(4)
    values = {"w": rng.uniform(-1, 1, (3, 2)), "b": rng.uniform(-1, 1, (2,)), "h": rng.uniform(-1, 1, (2, 2)),
              "fast": rng.uniform(-1, 1, (2,))}
    attrs = {"h": paddle.ParamAttr(regularizer=paddle.regularizer.L2Decay(0.05)),
             "fast": paddle.ParamAttr(learning_rate=10.0)}
    params = {n: paddle.create_parameter(list(v.shape), dtype, attr=attrs.get(n),
                                         default_initializer=paddle.nn.initializer.Assign(v.astype(dtype)))
              for n, v in values.items()}
    return values, params


def grads_for(step, scale):
    rng = np.random.RandomState(100 + step)
    return {"w": rng.randn(3, 2) * scale, "b": rng.randn(2) * scale, "h": rng.randn(2, 2) * scale,
            "fast": rng.randn(2) * scale}


def run(params, grads_per_step, plain_epsilon, lrs):
    sched = paddle.optimizer.lr.LambdaDecay(1.0, lambda s: lrs[min(s, len(lrs) - 1)])
    names = {p.name: n for n, p in params.items()}
    opt = AdamDecayAfterUpdate(learning_rate=sched, parameters=list(params.values()), weight_decay=0.3,
                               apply_decay_param_fun=lambda name: names[name] in ("w", "h", "fast"),
                               grad_clip=paddle.nn.ClipGradByGlobalNorm(1.0), plain_epsilon=plain_epsilon)
    for grads in grads_per_step:
        paddle.add_n([paddle.sum(p * paddle.to_tensor(grads[n])) for n, p in params.items()]).backward()
        opt.step()
        opt.clear_grad()
        sched.step()
    return {n: p.numpy() for n, p in params.items()}


# Tiny gradients first (1e-8: epsilon is as large as sqrt(v), where Paddle 1.8's plain epsilon and
# Paddle 2.x/3.x's differ most), then clipped steps (scale 10, 3) and an unclipped one (0.01).
SCALES = [1e-8, 1e-9, 2e-8, 10.0, 0.01, 3.0]
LRS = [0.0, 0.05, 0.04, 0.03, 0.02, 0.01]


@pytest.mark.parametrize("plain_epsilon", [True, False])
def test_adam_decay_after_update_matches_reference(plain_epsilon):
    paddle.set_device("cpu")
    values, params = make_params()
    grads = [grads_for(k, s) for k, s in enumerate(SCALES)]
    got = run(params, grads, plain_epsilon, LRS)
    want = reference(values, grads, LRS, mults={"fast": 10.0}, decay={"w", "h", "fast"}, l2={"h": 0.05},
                     wd=0.3, clip_norm=1.0, plain_epsilon=plain_epsilon)
    other = reference(values, grads, LRS, mults={"fast": 10.0}, decay={"w", "h", "fast"}, l2={"h": 0.05},
                      wd=0.3, clip_norm=1.0, plain_epsilon=not plain_epsilon)
    for n in values:  # float64 parameters; Paddle's lr is a float32 tensor (relative 1e-8)
        np.testing.assert_allclose(got[n], want[n], rtol=1e-7, atol=1e-12, err_msg=n)
    assert max(np.abs(got[n] - other[n]).max() for n in values) > 1e-3  # the epsilon rule is visible here


def test_decay_is_after_the_update_and_uses_the_global_lr():
    """One step from zero moments: p1 = (p0 - lr_t * m/(sqrt(v)+eps)) * (1 - lr * wd), with the
    scheduled lr, not lr * the parameter's multiplier (PaddleHub multiplies by scheduled_lr)."""
    paddle.set_device("cpu")
    values, params = make_params()
    grads = [grads_for(0, 0.01)]
    got = run(params, grads, True, [0.05])
    for n in ("w", "fast"):
        g = grads[0][n]
        adam = values[n] - 0.05 * (10.0 if n == "fast" else 1.0) * np.sqrt(1 - B2) / (1 - B1) * (
            (1 - B1) * g / (np.sqrt((1 - B2) * g * g) + EPS))
        np.testing.assert_allclose(got[n], adam - adam * 0.3 * 0.05, rtol=1e-7)  # lr: float32 tensor
    # "b" is excluded from the decay: plain Adam
    g = grads[0]["b"]
    np.testing.assert_allclose(got["b"], values["b"] - 0.05 * np.sqrt(1 - B2) / (1 - B1) * (
        (1 - B1) * g / (np.sqrt((1 - B2) * g * g) + EPS)), rtol=1e-7)


class Capture:
    """Records the gradient each Adam kernel call receives (after clipping and regularizers)."""

    def __init__(self, monkeypatch, cls):
        self.grads = {}
        original = cls._append_optimize_op

        def spy(opt, block, param_and_grad):
            self.grads[param_and_grad[0].name] = param_and_grad[1].numpy().copy()
            return original(opt, block, param_and_grad)
        monkeypatch.setattr(cls, "_append_optimize_op", spy)


@pytest.mark.parametrize("optimizer", ["decay_after_update", "adamw"])
@pytest.mark.parametrize("scale", [50.0, 0.1])
def test_param_regularizer_is_added_after_clipping(monkeypatch, optimizer, scale):
    """Paddle 2.6 and 3.x dygraph, like Paddle 1.8: clip the raw gradients to global norm, then
    add a ParamAttr L2Decay term (model.fc_l2 on the FC weight). With AdamW the term is added on
    top of AdamW's own decoupled decay (not replaced by it, nor replacing it)."""
    paddle.set_device("cpu")
    values, params = make_params()
    cls = AdamDecayAfterUpdate if optimizer == "decay_after_update" else paddle.optimizer.AdamW
    capture = Capture(monkeypatch, paddle.optimizer.Adam if optimizer == "decay_after_update" else cls)
    clip = paddle.nn.ClipGradByGlobalNorm(1.0)
    opt = cls(learning_rate=0.1, parameters=list(params.values()), weight_decay=0.3, grad_clip=clip)
    grads = grads_for(0, scale)
    paddle.add_n([paddle.sum(p * paddle.to_tensor(grads[n])) for n, p in params.items()]).backward()
    opt.step()
    norm = np.sqrt(sum(float(np.sum(g ** 2)) for g in grads.values()))
    factor = 1.0 / max(norm, 1.0)
    assert (factor < 1.0) == (scale == 50.0)
    for n, p in params.items():
        want = grads[n] * factor + (0.05 * values[n] if n == "h" else 0.0)
        np.testing.assert_allclose(capture.grads[p.name], want, rtol=1e-12, atol=1e-15, err_msg=n)
    if optimizer == "adamw":  # AdamW's decay still applied to "h": p0 * (1 - lr * wd), then Adam
        g = grads["h"] * factor + 0.05 * values["h"]
        adam = values["h"] * (1 - 0.1 * 0.3) - 0.1 * np.sqrt(1 - B2) / (1 - B1) * (
            (1 - B1) * g / (np.sqrt((1 - B2) * g * g) + EPS * np.sqrt(1 - B2)))
        np.testing.assert_allclose(params["h"].numpy(), adam, rtol=1e-7)  # lr: float32 tensor


def test_skipped_step_skips_the_decay():
    """A step GradScaler skips (found_inf) leaves every parameter alone, decay included."""
    paddle.set_device("cpu")
    values, params = make_params()
    opt = AdamDecayAfterUpdate(learning_rate=0.1, parameters=list(params.values()), weight_decay=0.3)
    paddle.add_n([paddle.sum(p * paddle.to_tensor(grads_for(0, 1.0)[n])) for n, p in params.items()]).backward()
    opt._set_auxiliary_var("found_inf", paddle.to_tensor(True))
    opt.step()
    for n, p in params.items():
        np.testing.assert_array_equal(p.numpy(), values[n])
    opt._set_auxiliary_var("found_inf", paddle.to_tensor(False))
    opt.step()
    assert all(np.abs(p.numpy() - values[n]).max() > 0 for n, p in params.items())


def test_dygraph_only():
    _, params = make_params()
    opt = AdamDecayAfterUpdate(learning_rate=0.1, parameters=list(params.values()), weight_decay=0.3)
    paddle.enable_static()
    try:
        with pytest.raises(NotImplementedError, match="dynamic mode only"):
            opt._apply_optimize(None, None, [])
    finally:
        paddle.disable_static()


# --------------------------------------------------------------------------- checkpoints


def train_steps(model, opt, sched, steps, start=0):
    for k in range(start, start + steps):
        rng = np.random.RandomState(k)
        x = paddle.to_tensor(rng.randn(5, 3).astype("float32"))
        (model(x) ** 2).mean().backward()
        opt.step()
        opt.clear_grad()
        sched.step()


def test_state_dict_resume_through_the_trainers_renaming():
    """Checkpoint and resume as checkpointing.save_checkpoint/load_checkpoint do (structured names
    via rename_optimizer_state) give exactly the uninterrupted run; the state has Adam's keys."""
    from paddle_ner.checkpointing import rename_optimizer_state

    paddle.set_device("cpu")
    cfg = config(decay_after_update=True, schedule="paddlehub", warmup_proportion=0.2, lr=1e-2)
    model = Tiny(fc_l2=1e-2)
    opt, sched = build_optimizer(model, cfg, 8)
    train_steps(model, opt, sched, 6)
    uninterrupted = {n: p.numpy() for n, p in model.state_dict().items()}

    model = Tiny(fc_l2=1e-2)
    opt, sched = build_optimizer(model, cfg, 8)
    train_steps(model, opt, sched, 3)
    state = opt.state_dict()
    saved_model = {n: p.numpy() for n, p in model.state_dict().items()}
    saved_opt = rename_optimizer_state(model, state, to_structured=True)
    assert any(k.startswith("fc.weight_") for k in saved_opt) and "LR_Scheduler" in saved_opt

    fresh = Tiny(fc_l2=1e-2)  # new parameter names, as in a new process
    fresh.set_state_dict({n: paddle.to_tensor(v) for n, v in saved_model.items()})
    opt2, sched2 = build_optimizer(fresh, cfg, 8)
    opt2.set_state_dict(rename_optimizer_state(fresh, saved_opt, to_structured=False))
    assert opt2.get_lr() == opt.get_lr()
    train_steps(fresh, opt2, sched2, 3, start=3)
    for n, p in fresh.state_dict().items():
        np.testing.assert_array_equal(p.numpy(), uninterrupted[n], err_msg=n)


def test_state_keys_are_adams():
    paddle.set_device("cpu")
    cfg = config(decay_after_update=True)
    model = Tiny()
    opt, sched = build_optimizer(model, cfg, 4)
    train_steps(model, opt, sched, 1)
    ref = paddle.optimizer.Adam(learning_rate=paddle.optimizer.lr.LambdaDecay(1.0, lambda s: 1.0),
                                parameters=model.parameters())
    train_steps(model, ref, ref._learning_rate, 1)
    def keys(state):  # accumulator names end in a per-process counter: linear_3.w_0_moment1_0
        return {re.sub(r"_\d+$", "", k) for k in state}

    assert keys(opt.state_dict()) == keys(ref.state_dict())
