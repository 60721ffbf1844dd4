"""Optimiser and learning-rate schedule: ``build_optimizer(model, cfg, total_steps)``.

Two update rules, switched by config fields (a recipe only sets them):

- ``train.decay_after_update: false`` (ours): Paddle's ``AdamW``, which decays the value
  *before* the Adam update, ``p <- p * (1 - lr * wd)`` then Adam.
- ``train.decay_after_update: true``: PaddleHub 1.x's ``AdamWeightDecayStrategy``, the paper's
  optimiser (``paddlehub/finetune/strategy.py:389-405@v1.5.4``): a plain Adam update, *then*
  ``p <- p_adam * (1 - lr * wd)`` on the decayed parameters, with the scheduled learning rate
  (PaddleHub multiplies by its global ``scheduled_lr``, so a parameter's learning-rate multiplier
  does not scale its decay). Adam is Paddle 1.8's, with a plain epsilon (see
  :class:`AdamDecayAfterUpdate`).

Either way, gradients are clipped to global norm ``train.max_grad_norm`` first, and a
parameter's own ``paddle.ParamAttr(regularizer=L2Decay(c))`` (``model.fc_l2`` on the FC weight)
adds ``c * p`` to its gradient *after* the clipping, before the update: Paddle 2.6 and 3.x
dygraph apply ``grad_clip`` and then ``append_regularization_ops`` in ``Optimizer._apply_optimize``,
the order Paddle 1.8 used (``paddle/fluid/optimizer.py:713-720@v1.8.5``), pinned by
``tests/golden/schedule.json`` (``tests/test_golden_schedule.py``). Such a regularizer is added
on top of AdamW's decoupled decay, not instead of it (only an optimiser's *coupled*
``weight_decay``, e.g. ``Adam(weight_decay=0.01)``, gives way to a parameter's own regularizer).

Weight decay skips every parameter whose structured name (``encoder.layer.0.norm1.weight``)
contains one of :data:`NO_DECAY`.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import paddle

from paddle_ner.config import Config

NO_DECAY = ("bias", "norm")  # AdamW skips biases and LayerNorm scales, as BERT's optimiser did

SCHEDULES = ("linear", "paddlehub", "constant")


def lr_factor(schedule: str, warmup: int, total: int) -> Callable[[int], float]:
    """LR multiplier per step (0-based: the step about to be taken).

    First a linear warmup, ``step / warmup`` for ``step < warmup`` (so step 0 has lr 0), then:

    - ``linear``: 1 -> 0 linearly from ``warmup`` to ``total`` (BERT's schedule);
    - ``paddlehub``: ``1 - min(step, total) / total``, PaddleHub 1.x's
      ``polynomial_decay(lr, decay_steps=total, power=1)`` (``finetune/strategy.py:287-323``,
      Paddle 1.8 clamps the step at ``total``). It resumes at ``1 - warmup / total`` after the
      warmup, not 1, and is 0 from step ``total`` on. PaddleHub's ``total`` is its
      ``max_train_steps = epochs * examples // batch_size``, which can be less than the steps its
      loop runs (the last partial batch of each epoch is trained too): those extra steps get lr 0.
    - ``constant``: 1.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"train.schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        if schedule == "constant":
            return 1.0
        if schedule == "paddlehub":
            return 1.0 - min(step, total) / max(1, total)
        return max(0.0, (total - step) / max(1, total - warmup))
    return factor


class AdamDecayAfterUpdate(paddle.optimizer.Adam):
    """Adam, then decoupled weight decay of the updated value: PaddleHub 1.x's
    ``AdamWeightDecayStrategy`` on Paddle 1.8 (dygraph only).

    One step: gradients clipped (``grad_clip``), plus each parameter's own regularizer term,
    then the Adam update, then ``p <- p * (1 - lr * weight_decay)`` for every updated parameter
    for which ``apply_decay_param_fun(p.name)`` is true, where ``lr`` is the scheduled learning
    rate of the step (``get_lr()``, no per-parameter multiplier, as PaddleHub). A step that
    ``paddle.amp.GradScaler`` skips (inf/NaN gradients) skips the decay too.

    The decay is computed as PaddleHub did, ``p - p * (lr * wd)``; ``p * (1 - lr * wd)`` would
    round the factor to float32 next to 1 and so decay up to 6 % too much or too little at the
    paper's lr 5e-5 and wd 0.01.

    ``plain_epsilon``: Paddle 1.8's Adam computes ``m / (sqrt(v) + eps)``; Paddle 2.x/3.x's
    kernel computes ``m / (sqrt(v) + eps * sqrt(1 - beta2^t))``. With ``plain_epsilon`` each
    parameter's update runs with ``eps / sqrt(1 - beta2^t)`` (its own beta2 power accumulator,
    kept on the CPU, so reading it costs no device sync), which gives back Paddle 1.8's update
    to float32 rounding. Off: Paddle's native epsilon.

    Everything else (``state_dict``/``set_state_dict``, ``get_lr``, ``clear_grad``, use with a
    GradScaler) is ``paddle.optimizer.Adam``'s: the state holds the same keys, nothing more.
    """

    def __init__(self, learning_rate, parameters, weight_decay: float,
                 apply_decay_param_fun: Optional[Callable[[str], bool]] = None, grad_clip=None,
                 beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8, plain_epsilon: bool = False,
                 lazy_mode: bool = False):
        parameters = list(parameters)
        if parameters and isinstance(parameters[0], dict):
            raise ValueError("AdamDecayAfterUpdate takes a list of parameters, not parameter groups")
        if not float(weight_decay) >= 0.0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        # weight_decay=None: no coupled L2 from Adam itself; parameters' own regularizers still apply.
        super().__init__(learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
                         parameters=parameters, weight_decay=None, grad_clip=grad_clip, lazy_mode=lazy_mode)
        self._decoupled_coeff = float(weight_decay)
        self._apply_decay_param_fun = apply_decay_param_fun
        self._plain_epsilon = bool(plain_epsilon)
        self._base_epsilon = float(epsilon)

    def _append_optimize_op(self, block, param_and_grad):
        if not self._plain_epsilon:
            return super()._append_optimize_op(block, param_and_grad)
        beta2_pow = self._get_accumulator_master(self._beta2_pow_acc_str, param_and_grad[0])
        # beta2^t of this step, as the kernel reads it (float32, on the CPU).
        self._epsilon = self._base_epsilon / math.sqrt(1.0 - float(beta2_pow))
        try:
            return super()._append_optimize_op(block, param_and_grad)
        finally:
            self._epsilon = self._base_epsilon

    def _apply_optimize(self, loss, startup_program, params_grads, param_group_idx=0):
        if not paddle.in_dynamic_mode():
            raise NotImplementedError("AdamDecayAfterUpdate runs in dynamic mode only")
        result = super()._apply_optimize(loss, startup_program, params_grads, param_group_idx=param_group_idx)
        found_inf = self._get_auxiliary_var("found_inf")  # set by GradScaler; a bool after the update
        if self._decoupled_coeff and not (found_inf is not None and bool(found_inf)):
            # p - p * (lr * wd), as PaddleHub's p - p * wd * lr: not p * (1 - lr * wd), whose factor,
            # rounded to float32 next to 1, is off by up to 3e-8 absolute, 6 % of a decay of 5e-7
            # (lr 5e-5, wd 0.01), the same way at every step.
            rate = float(self.get_lr()) * self._decoupled_coeff
            with paddle.no_grad():
                for param, grad in params_grads:
                    if grad is None or param.stop_gradient:
                        continue
                    if self._apply_decay_param_fun is None or self._apply_decay_param_fun(param.name):
                        param.subtract_(param * rate)
        return result


def build_optimizer(model: paddle.nn.Layer, cfg: Config, total_steps: int):
    """(optimizer, scheduler) for ``model`` by ``cfg.train``: Adam or AdamW (weight decay on the
    value before the update, or after it with ``decay_after_update``), global-norm clipping,
    warmup then the ``schedule`` over ``total_steps``.

    ``total_steps`` is the decay horizon: the steps of the run for ``linear``; for
    ``paddlehub``, PaddleHub's ``max_train_steps`` (``epochs * examples // batch_size``) if the
    run is to match it. The warmup is ``int(total_steps * warmup_proportion)`` steps.
    """
    train = cfg.train
    warmup = int(total_steps * train.warmup_proportion)
    scheduler = paddle.optimizer.lr.LambdaDecay(train.lr, lr_factor(train.schedule, warmup, total_steps))
    params = [p for p in model.parameters() if not p.stop_gradient]
    clip = paddle.nn.ClipGradByGlobalNorm(train.max_grad_norm) if train.max_grad_norm > 0 else None
    sparse = cfg.model.sparse_embeddings and cfg.model.name == "bigru_crf"
    if sparse and train.optimizer != "adam":
        raise ValueError("model.sparse_embeddings needs train.optimizer=adam (Paddle's AdamW has no sparse update)")
    if train.decay_after_update and train.optimizer != "adamw":
        raise ValueError("train.decay_after_update needs train.optimizer=adamw (adam has no weight decay)")
    if train.adam_epsilon != "native" and not train.decay_after_update:
        raise ValueError("train.adam_epsilon=paddle1 needs train.decay_after_update=true (PaddleHub's optimizer)")
    if train.optimizer == "adamw":
        decay = {p.name for n, p in model.named_parameters() if not any(k in n.lower() for k in NO_DECAY)}
        if train.decay_after_update:
            optimizer = AdamDecayAfterUpdate(learning_rate=scheduler, parameters=params,
                                             weight_decay=train.weight_decay,
                                             apply_decay_param_fun=lambda name: name in decay, grad_clip=clip,
                                             plain_epsilon=train.adam_epsilon == "paddle1")
        else:
            optimizer = paddle.optimizer.AdamW(learning_rate=scheduler, parameters=params,
                                               weight_decay=train.weight_decay,
                                               apply_decay_param_fun=lambda name: name in decay, grad_clip=clip)
    elif train.optimizer == "adam":
        # lazy_mode: sparse (row) gradients update only their rows' moments, as TF's LazyAdam.
        optimizer = paddle.optimizer.Adam(learning_rate=scheduler, parameters=params, grad_clip=clip,
                                          lazy_mode=sparse)
    else:
        raise ValueError(f"train.optimizer must be adamw or adam, got {train.optimizer!r}")
    return optimizer, scheduler


__all__ = ["NO_DECAY", "SCHEDULES", "lr_factor", "AdamDecayAfterUpdate", "build_optimizer"]
