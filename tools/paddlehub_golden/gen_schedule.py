# Python 3.8, run INSIDE the PaddleHub 1.5.4 side environment (see setup_env.sh).
"""Record tests/golden/schedule.json: PaddleHub 1.5.4's AdamWeightDecayStrategy (the paper's
optimizer: Adam, linear warmup + linear decay, global-norm clipping at 1.0, decoupled weight decay
that skips names with 'layer_norm' or ending '_bias' / '_b' / '.b_0') applied to a small real fluid
program, exactly as PaddleHub's BaseTask._build_env calls it: strategy.execute(loss, reader,
config, dev_count) inside program_guard(main, startup).

case "schedule": lr 5e-5, max_train_steps 57, warmup_proportion 0.1; the learning rate fetched
  from the program at each of 60 steps (3 past max_train_steps).
case "decay_and_clip": lr 0.1 so that decay is visible in float32, max_train_steps 10,
  warmup_proportion 0.1; loss scaled per step so that some steps are clipped and some not;
  params, raw grads and the grads the adam ops receive are recorded at every step.

Usage: /tmp/ph15/bin/python tools/paddlehub_golden/gen_schedule.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402
import paddle.fluid as fluid  # noqa: E402
from paddlehub.finetune.strategy import AdamWeightDecayStrategy  # noqa: E402

SEED = 20200220


class StubReader(object):
    """What strategy.execute needs from a reader: data_generator() fills num_examples['train']."""

    def __init__(self, n):
        self.n = n
        self.num_examples = {"train": -1, "dev": -1, "test": -1}
        self.in_tokens = False
        self.max_seq_len = 128

    def data_generator(self, batch_size=1, phase="train", shuffle=True, data=None):
        self.num_examples[phase] = self.n
        return lambda: iter(())


class StubConfig(object):
    def __init__(self, batch_size, num_epoch):
        self.batch_size = batch_size
        self.num_epoch = num_epoch


PARAMS = [
    # name, shape, regularizer (None or L2 coefficient), decoupled decay applies?
    ("dense_w", (3, 4), None, True),
    ("dense_bias", (4,), None, False),  # '_bias'
    ("encoder_layer_norm_scale", (4,), None, False),  # 'layer_norm'
    ("fc_0.b_0", (4,), None, False),  # '.b_0'
    ("out_b", (4,), None, False),  # '_b'
    ("head_w", (4, 2), 1e-4, True),  # like SequenceLabelTask's FC weight: L2DecayRegularizer(1e-4)
]


def build(lr, max_steps, warmup, weight_decay, init):
    main, startup = fluid.Program(), fluid.Program()
    main.random_seed = startup.random_seed = SEED
    with fluid.program_guard(main, startup), fluid.unique_name.guard():
        x = fluid.layers.data(name="x", shape=[3], dtype="float32")
        y = fluid.layers.data(name="y", shape=[2], dtype="float32")
        scale = fluid.layers.data(name="scale", shape=[1], dtype="float32", append_batch_size=False)
        p = {}
        for name, shape, l2, _ in PARAMS:
            attr = fluid.ParamAttr(
                name=name, initializer=fluid.initializer.NumpyArrayInitializer(init[name]),
                regularizer=fluid.regularizer.L2DecayRegularizer(l2) if l2 else None)
            p[name] = fluid.layers.create_parameter(shape=list(shape), dtype="float32", attr=attr)
        h = fluid.layers.matmul(x, p["dense_w"]) + p["dense_bias"]
        h = fluid.layers.elementwise_mul(h, p["encoder_layer_norm_scale"]) + p["fc_0.b_0"] + p["out_b"]
        out = fluid.layers.matmul(h, p["head_w"])
        loss = fluid.layers.reduce_sum(fluid.layers.square(out - y)) * scale
        strategy = AdamWeightDecayStrategy(learning_rate=lr, warmup_proportion=warmup,
                                           weight_decay=weight_decay)
        scheduled_lr, max_train_steps = strategy.execute(
            loss, StubReader(max_steps * 16), StubConfig(batch_size=16, num_epoch=1), 1)
    assert max_train_steps == max_steps
    return main, startup, loss, scheduled_lr, strategy


def feeds(rng, steps, scales):
    out = []
    for i in range(steps):
        out.append({"x": rng.uniform(-1, 1, (5, 3)).astype("float32"),
                    "y": rng.uniform(-1, 1, (5, 2)).astype("float32"),
                    "scale": np.array([scales[i % len(scales)]], dtype="float32")})
    return out


def run_case(lr, max_steps, steps, warmup, weight_decay, scales, detail):
    rng = np.random.RandomState(SEED)
    init = {name: rng.uniform(-1, 1, shape).astype("float32") for name, shape, _, _ in PARAMS}
    main, startup, loss, scheduled_lr, strategy = build(lr, max_steps, warmup, weight_decay, init)
    exe = fluid.Executor(fluid.CPUPlace())
    scope = fluid.Scope()
    adam = [op for op in main.global_block().ops if op.type == "adam"]
    adam_grad = {op.input("Param")[0]: op.input("Grad")[0] for op in adam}
    names = [n for n, _, _, _ in PARAMS]
    raw_grads = [n + "@GRAD" for n in names]
    post_grads = [adam_grad[n] for n in names]
    ops = [op.type for op in main.global_block().ops]
    first_adam = ops.index("adam")
    steps_out = []
    with fluid.scope_guard(scope):
        exe.run(startup)
        for n in names:
            assert np.array_equal(np.array(scope.find_var(n).get_tensor()), init[n])
        for i, feed in enumerate(feeds(rng, steps, scales)):
            fetch = [scheduled_lr.name, loss.name, "@LR_DECAY_COUNTER@"]
            if detail:
                fetch += raw_grads + post_grads
            res = exe.run(main, feed=feed, fetch_list=fetch, return_numpy=True)
            rec = {"step": i, "lr": common.f32(res[0][0]), "lr_decay_counter": int(res[2][0]),
                   "loss": common.f32(res[1][0])}
            if detail:
                g = res[3:3 + len(names)]
                gp = res[3 + len(names):]
                norm = float(np.sqrt(sum(float(np.sum(np.square(a.astype(np.float64)))) for a in g)))
                rec["scale"] = common.f32(feed["scale"][0])
                rec["global_norm_of_raw_grads"] = norm
                rec["clipped"] = norm > 1.0
                rec["raw_grads"] = {n: common.f32(a) for n, a in zip(names, g)}
                rec["adam_input_grads"] = {n: common.f32(a) for n, a in zip(names, gp)}
                rec["feed"] = {k: common.f32(v) for k, v in feed.items()}
                rec["params_after"] = {n: common.f32(np.array(scope.find_var(n).get_tensor())) for n in names}
            steps_out.append(rec)
        final = {n: common.f32(np.array(scope.find_var(n).get_tensor())) for n in names}
    case = {
        "learning_rate": lr, "max_train_steps": max_steps, "steps_run": steps,
        "warmup_proportion": warmup, "warmup_steps": int(max_steps * warmup),
        "weight_decay": weight_decay,
        "strategy_str": str(strategy),
        "params": [{"name": n, "shape": list(s), "l2_regularizer": l2,
                    "decoupled_decay": (not strategy.exclude_from_weight_decay(n))} for n, s, l2, _ in PARAMS],
        "init": {n: common.f32(v) for n, v in init.items()},
        "steps": steps_out,
        "final_params": final,
        "op_types_from_first_adam": ops[first_adam:],
    }
    for n, _, _, decays in PARAMS:
        assert strategy.exclude_from_weight_decay(n) == (not decays), n
    case["rule_check"] = check_rules(case) if detail else None
    return case


def check_rules(case):
    """Replay decay_and_clip in numpy float32 from the recorded adam-input grads, under the rules
    stated in observed_rules, and under the alternatives, so the fixture says which one PaddleHub ran."""
    f = np.float32
    names = [p["name"] for p in case["params"]]

    def replay(eps_times_sqrt, decay_after_adam):
        P = {n: np.array(case["init"][n], f) for n in names}
        m = {n: np.zeros_like(P[n]) for n in names}
        v = {n: np.zeros_like(P[n]) for n in names}
        b1, b2, eps = f(0.9), f(0.999), f(1e-8)
        b1p, b2p = f(0.9), f(0.999)
        worst = 0.0
        for st in case["steps"]:
            lr = f(st["lr"])
            for p in case["params"]:
                n = p["name"]
                g = np.array(st["adam_input_grads"][n], f)
                m[n] = b1 * m[n] + (f(1) - b1) * g
                v[n] = b2 * v[n] + (f(1) - b2) * g * g
                lr_t = lr * np.sqrt(f(1) - b2p) / (f(1) - b1p)
                e = eps * np.sqrt(f(1) - b2p) if eps_times_sqrt else eps
                before = P[n]
                P[n] = P[n] - lr_t * (m[n] / (np.sqrt(v[n]) + e))
                if p["decoupled_decay"]:
                    P[n] = P[n] - (P[n] if decay_after_adam else before) * f(case["weight_decay"]) * lr
                worst = max(worst, float(np.abs(P[n] - np.array(st["params_after"][n], f)).max()))
            b1p, b2p = b1p * b1, b2p * b2
        return worst

    # clipping + L2 rule, checked on the recorded raw grads
    clip_err = 0.0
    for st in case["steps"]:
        raw = {n: np.array(st["raw_grads"][n], f) for n in names}
        norm = np.sqrt(sum(float(np.sum(np.square(raw[n].astype(np.float64)))) for n in names))
        for p in case["params"]:
            n = p["name"]
            P_before = np.array(case["init"][n], f) if st["step"] == 0 else np.array(case["steps"][st["step"] - 1]["params_after"][n], f)
            g = raw[n] * f(min(1.0, 1.0 / norm))
            if p["l2_regularizer"]:
                g = g + f(p["l2_regularizer"]) * P_before
            clip_err = max(clip_err, float(np.abs(g - np.array(st["adam_input_grads"][n], f)).max()))
    out = {
        "max_abs_err_clip_then_l2": clip_err,
        "max_abs_err_params[eps, decay after adam]  (the stated rule)": replay(False, True),
        "max_abs_err_params[eps, decay before adam]": replay(False, False),
        "max_abs_err_params[eps*sqrt(1-beta2_pow), decay after adam]": replay(True, True),
    }
    assert out["max_abs_err_clip_then_l2"] < 1e-6, out
    assert out["max_abs_err_params[eps, decay after adam]  (the stated rule)"] < 1e-6, out
    return out


def main():
    out = {"fixture": "schedule", "description": __doc__.strip().split("\n\n")[0]}
    out["provenance"] = common.provenance(__file__, {
        "strategy": "paddlehub.finetune.strategy.AdamWeightDecayStrategy (" + common.cite("finetune/strategy.py", "class AdamWeightDecayStrategy") + ")",
        "max_train_steps": common.cite("finetune/strategy.py", "max_train_steps = config.num_epoch * num_train_examples"),
        "warmup_steps": common.cite("finetune/strategy.py", "warmup_steps = int(max_train_steps * self.scheduler"),
        "warmup_lr": common.cite("finetune/strategy.py", "decayed_lr = self.learning_rate * global_step * 1.0 / warmup_steps"),
        "linear_decay": common.cite("finetune/strategy.py", "decayed_lr = lr_scheduler.polynomial_decay("),
        "step_counter_starts_at_0": common.cite("layers/learning_rate_scheduler.py", "def _decay_step_counter(begin=0):", package="paddle/fluid"),
        "polynomial_decay_clamps_step": common.cite("layers/learning_rate_scheduler.py", "global_step = nn.elementwise_min(", package="paddle/fluid"),
        "clip": common.cite("finetune/strategy.py", "clip=fluid.clip.GradientClipByGlobalNorm("),
        "clip_then_regularizer": common.cite("optimizer.py", "params_grads = append_regularization_ops(params_grads,", package="paddle/fluid"),
        "param_copy_made_after_minimize": common.cite("finetune/strategy.py", "param_list[param.name] = param * 1.0"),
        "decoupled_decay": common.cite("finetune/strategy.py", "updated_param = param - param_list["),
        "exclude_from_weight_decay": common.cite("finetune/strategy.py", "def exclude_from_weight_decay(self, name):"),
    })
    out["optimizer"] = {"type": "fluid.optimizer.Adam (via DefaultStrategy, optimizer_name='adam')",
                        "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "lazy_mode": False,
                        "update": "all float32; beta1_pow/beta2_pow start at beta1/beta2 and are multiplied by beta "
                                  "after each step (t counts every step, including lr-0 steps): "
                                  "m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; "
                                  "lr_t = lr*sqrt(1-beta2_pow)/(1-beta1_pow); p -= lr_t*(m/(sqrt(v)+epsilon)). "
                                  "NOTE plain epsilon (Paddle 1.8.5), not epsilon*sqrt(1-beta2_pow): see "
                                  "decay_and_clip.rule_check"}
    out["observed_rules"] = [
        "lr(step) for step = 0,1,...: step < warmup_steps: lr*step/warmup_steps (so step 0 has lr 0); "
        "step >= warmup_steps: lr*(1 - min(step, max_train_steps)/max_train_steps); warmup_steps = int(max_train_steps*warmup_proportion)",
        "gradient of each parameter: raw grad * min(1, 1.0/global_norm(all raw grads)), THEN + coeff*param for params with "
        "an L2DecayRegularizer (head_w); that sum is what the adam op receives",
        "after the adam op: p <- p_adam - p_adam*weight_decay*lr(step) for names not excluded (the copy param*1.0 is taken "
        "after the optimizer ops in program order, so it is the post-Adam value)",
    ]
    out["schedule"] = run_case(5e-5, 57, 60, 0.1, 0.01, scales=[1.0], detail=False)
    out["decay_and_clip"] = run_case(0.1, 10, 10, 0.1, 0.01, scales=[100.0, 0.01, 30.0, 0.05, 1.0], detail=True)
    common.write_json("schedule.json", out)


if __name__ == "__main__":
    main()
