"""Linear-chain conditional random field: exact negative log-likelihood and Viterbi decoding.

A sequence ``y_0 .. y_{n-1}`` of ``n = length`` tags over emissions ``e[t, k]`` scores

    score(y) = start[y_0] + sum_{t<n} e[t, y_t] + sum_{0<t<n} transitions[y_{t-1}, y_t] + end[y_{n-1}]

and ``-log p(y) = log Z - score(y)`` with ``log Z = logsumexp`` of the score over all ``K**n``
tag sequences, computed by the forward algorithm.

Conventions:

- ``transitions`` is oriented ``[from, to]``: ``transitions[i, j]`` scores tag ``i`` followed by
  tag ``j``. That is the orientation ``paddle.text.ViterbiDecoder`` reads.
- Start and end scores are separate ``[K]`` parameters instead of PaddleNLP's two extra
  tags. With ``include_bos_eos_tag=True`` the Viterbi op adds ``transitions[K-1, y_0]`` for the
  start and ``transitions[K-2, y_last]`` for the stop: both rows, so STOP is read as a "from"
  tag, the opposite orientation from every other transition (FACTS.md section 3). Separate
  vectors, added to the first and the last real emission before decoding with
  ``include_bos_eos_tag=False``, leave no orientation to get wrong and need no phantom tag
  columns in the emissions.
- ``paddlenlp.layers.LinearChainCrf`` is not used: its normaliser reads the transitions as
  ``[to, from]`` while its gold score reads ``[from, to]``, so its "NLL" is not a likelihood
  (FACTS.md section 3; ``tests/test_crf.py`` checks that this is still so).

Only positions ``t < lengths[b]`` are read. Emissions and tags past each length may hold
anything, e.g. a ``-100`` ignore label; they are masked before use. Lengths must be in
``[1, T]``: an empty sequence has no first or last tag, and the model never produces one. In
dynamic mode a bad length or tag raises ``ValueError``; inside ``paddle.jit.to_static`` the
values cannot be checked, and out-of-range values give undefined results.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import paddle

from paddle_ner.compat_paddle import viterbi_decode

# Score given to a forbidden transition or start at decode time. Finite, because where every
# candidate at a step is -inf the Viterbi op returns tag -1 (Paddle 3.3, CPU) or raises
# IndexError (Paddle 2.6); large enough that any path with a forbidden step loses to any allowed
# path for realistic scores (|score| << 1e9); small enough that hundreds of them fit in float32.
FORBIDDEN_SCORE = -1.0e9

# Largest |score| (emission, start, end or transition) that decode treats as a model's score.
# Beyond it (or NaN/inf) the model has diverged or is damaged: decode returns a NaN score for
# the sequence instead of running the Viterbi op on it, which raises IndexError on Paddle 2.6
# and returns tag -1 on 3.3 for such input. Inputs within it cannot overflow float32 in a
# path score (about 2 T of them are summed), and FORBIDDEN_SCORE stays decisive far below it.
SCORE_LIMIT = 1.0e30


def bio_constraints(labels: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """Decode-time masks that make every decoded sequence well-formed BIO.

    Forbids ``O -> I-X``, ``B-X -> I-Y`` and ``I-X -> I-Y`` for ``Y != X``, and ``I-X`` as the
    first tag. Everything may end a sequence. Labels are ``'O'`` or ``'<B|I>-<type>'``, split on
    the first ``'-'`` (so ``'B-PER.NAM'`` has type ``'PER.NAM'``).

    Args:
        labels: the K tag names, in tag-id order.

    Returns:
        ``(allowed, allowed_start)``: bool numpy arrays of shape [K, K] (``[from, to]``) and [K].

    Raises:
        ValueError: for an empty list, a duplicate label or a label that is not BIO.
    """
    labels = list(labels)
    if not labels:
        raise ValueError("bio_constraints needs at least one label, got an empty list")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ValueError(f"duplicate labels {duplicates} in {labels}")
    parsed = []  # (prefix, type) per tag id; type is None for 'O'
    for label in labels:
        if label == "O":
            parsed.append(("O", None))
            continue
        prefix, sep, kind = label.partition("-")
        if prefix not in ("B", "I") or not sep or not kind:
            raise ValueError(f"label {label!r} is not BIO: expected 'O', 'B-<type>' or 'I-<type>'")
        parsed.append((prefix, kind))

    num_tags = len(labels)
    allowed = np.ones((num_tags, num_tags), dtype=bool)  # shape: (from, to)
    allowed_start = np.ones(num_tags, dtype=bool)  # shape: (num_tags,)
    for to, (to_prefix, to_type) in enumerate(parsed):
        if to_prefix != "I":
            continue
        # I-X continues an X entity, so it cannot open a sequence ...
        allowed_start[to] = False
        for frm, (_, from_type) in enumerate(parsed):
            # ... and may only follow B-X or I-X ('O' has type None, so it is excluded too).
            if from_type != to_type:
                allowed[frm, to] = False
    return allowed, allowed_start


CRF_INITS = ("uniform", "xavier")


def xavier_crfw(num_tags: int, dtype: Optional[str] = None) -> paddle.Tensor:
    """PaddleHub 1.x's initial ``crfw``: a [K+2, K] matrix (row 0 start, row 1 end, rows 2..
    transitions ``[from, to]``) drawn uniform in ``+-sqrt(6 / ((K+2) + K))``, 0.6124 for K = 7.

    That is Xavier-uniform for that shape, with Paddle 1.8's fans (fan_in = K+2 rows, fan_out =
    K columns): ``SequenceLabelTask`` created ``crfw`` with no initializer, so the LayerHelper
    default, ``XavierInitializer(uniform=True)``, drew it (tests/golden/crf.json). One draw from
    Paddle's global generator (``paddle.seed``).
    """
    k = int(num_tags)
    limit = float(np.sqrt(6.0 / ((k + 2) + k)))
    return paddle.uniform([k + 2, k], dtype=dtype or paddle.get_default_dtype(), min=-limit, max=limit)


class CRF(paddle.nn.Layer):
    """Linear-chain CRF over ``num_tags`` tags with separate start, end and transition scores.

    Args:
        num_tags: number of tags K.
        lr_mult: learning-rate multiplier for the three CRF parameters, applied through
            ``paddle.ParamAttr(learning_rate=lr_mult)`` (Paddle's optimizers, LR schedulers and
            AdamW honour it). 1.0 reproduces PaddleHub 1.x, which the paper used (its CRF
            parameter had no multiplier); PaddleNLP's examples use 0.1 to 100.
        allowed_transitions: optional bool [K, K] (``[from, to]``) mask of transitions the decoder
            may use, e.g. from :func:`bio_constraints`. ``None`` allows all.
        allowed_start: optional bool [K] mask of tags a decoded sequence may start with.
            ``None`` allows all.
        dtype: parameter dtype (default: Paddle's default dtype). Computation runs in this
            dtype; emissions of another float dtype (e.g. float16 under AMP) are cast to it.
        check_values: in dynamic mode, check that lengths are in [1, T] and tags in [0, K)
            (one device->host read per call). Callers whose batches guarantee both, like the
            training loop, turn it off so a step never waits for the device; shape and dtype
            checks, which need no read, always run.
        init: how the scores start. ``"uniform"``: start, end and transitions each drawn from
            ``Uniform(-0.1, 0.1)``. ``"xavier"``: PaddleHub 1.x's ``crfw``, one [K+2, K] matrix
            drawn Xavier-uniform (limit ``sqrt(6 / ((K+2) + K))``, Paddle 1.8's default
            initializer, fan_in = K+2, fan_out = K; see :func:`xavier_crfw`), split into row 0 =
            start, row 1 = end and rows 2.. = transitions ``[from, to]``. The parameters stay
            three, named the same either way.

    Why decode-time constraints (the model turns them on by default for BIO labels): with the
    paper's schedule (2 epochs at lr 5e-5, no multiplier) the transition scores barely move from
    their +-0.1 initialisation, so an unconstrained decoder follows the emissions alone and can
    emit ``I-X`` after ``O``. Every chunk evaluator then counts a spurious or broken entity.
    The masks make every decoded sequence well-formed BIO at zero training cost. They only
    affect :meth:`decode`; :meth:`nll` is the unconstrained likelihood, so training is
    unchanged. The masks are persistable buffers so that a saved or exported model decodes the
    same way.
    """

    def __init__(
        self,
        num_tags: int,
        lr_mult: float = 1.0,
        allowed_transitions: Optional[np.ndarray] = None,
        allowed_start: Optional[np.ndarray] = None,
        dtype: Optional[str] = None,
        check_values: bool = True,
        init: str = "uniform",
    ) -> None:
        if isinstance(num_tags, bool) or not isinstance(num_tags, (int, np.integer)) or num_tags < 1:
            raise ValueError(f"num_tags must be a positive int, got {num_tags!r}")
        if not float(lr_mult) > 0.0:
            raise ValueError(f"lr_mult must be > 0, got {lr_mult!r}")
        if init not in CRF_INITS:
            raise ValueError(f"init must be one of {', '.join(CRF_INITS)}, got {init!r}")
        dtype = dtype or paddle.get_default_dtype()
        super().__init__(dtype=dtype)
        self.num_tags = int(num_tags)
        self.lr_mult = float(lr_mult)
        self.check_values = bool(check_values)
        self.init = init
        # "uniform", as pytorch-crf: small random scores, so no tag is favoured at the start.
        # "xavier": zeros here (no random draw), then the pieces of one crfw draw.
        initializer = (paddle.nn.initializer.Uniform(-0.1, 0.1) if init == "uniform"
                       else paddle.nn.initializer.Constant(0.0))

        def parameter(shape):
            return self.create_parameter(
                shape=shape,
                dtype=dtype,
                attr=paddle.ParamAttr(learning_rate=self.lr_mult),
                default_initializer=initializer,
            )

        self.start = parameter([self.num_tags])  # shape: (num_tags,)
        self.end = parameter([self.num_tags])  # shape: (num_tags,)
        self.transitions = parameter([self.num_tags, self.num_tags])  # shape: (from, to)
        if init == "xavier":
            crfw = xavier_crfw(self.num_tags, dtype)  # shape: (num_tags + 2, num_tags)
            with paddle.no_grad():
                self.start.set_value(crfw[0])
                self.end.set_value(crfw[1])
                self.transitions.set_value(crfw[2:])

        k = self.num_tags
        allowed_transitions = self._mask(allowed_transitions, (k, k), "allowed_transitions")
        allowed_start = self._mask(allowed_start, (k,), "allowed_start")
        # Buffers, not parameters: never trained, but saved with the model and exported.
        self.register_buffer("allowed_transitions", paddle.to_tensor(allowed_transitions), persistable=True)
        self.register_buffer("allowed_start", paddle.to_tensor(allowed_start), persistable=True)

    @staticmethod
    def _mask(mask, shape, name) -> np.ndarray:
        if mask is None:
            return np.ones(shape, dtype=bool)
        array = np.asarray(mask)
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {list(shape)}, got {list(array.shape)}")
        if array.dtype != np.bool_:
            raise ValueError(f"{name} must be a bool array, got dtype {array.dtype}")
        return array.copy()

    def extra_repr(self) -> str:
        constrained = not (bool(self.allowed_transitions.numpy().all()) and bool(self.allowed_start.numpy().all()))
        return f"num_tags={self.num_tags}, lr_mult={self.lr_mult}, init={self.init}, constrained={constrained}"

    # ------------------------------------------------------------------ public API

    def nll(self, emissions: paddle.Tensor, tags: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        """Exact negative log-likelihood of each gold tag sequence.

        Args:
            emissions: float [B, T, K] scores per position and tag.
            tags: int [B, T] gold tag ids; values past each length are ignored.
            lengths: int [B] real lengths, each in [1, T].

        Returns:
            float [B]: ``log Z - score(tags)`` per sequence (not reduced), always >= 0.

        Meant for dynamic-mode training: the forward algorithm is a Python loop over time, so
        under ``to_static`` it would need a static T.
        """
        emissions, lengths, tags = self._validate(emissions, lengths, tags)
        return self._log_partition(emissions, lengths) - self._score(emissions, tags, lengths)

    def log_partition(self, emissions: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        """``log Z`` per sequence: logsumexp of the score over all tag sequences of its length.

        Args: emissions float [B, T, K]; lengths int [B]. Returns: float [B].
        """
        emissions, lengths, _ = self._validate(emissions, lengths)
        return self._log_partition(emissions, lengths)

    def score(self, emissions: paddle.Tensor, tags: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        """Unnormalised score of the given tag sequences (formula in the module docstring).

        Args: emissions float [B, T, K]; tags int [B, T]; lengths int [B]. Returns: float [B].
        """
        emissions, lengths, tags = self._validate(emissions, lengths, tags)
        return self._score(emissions, tags, lengths)

    def decode(self, emissions: paddle.Tensor, lengths: paddle.Tensor) -> Tuple[paddle.Tensor, paddle.Tensor]:
        """Best tag sequence per example (Viterbi), honouring the decode-time constraints.

        Works under ``paddle.jit.to_static`` with dynamic batch and time dimensions.

        Args:
            emissions: float [B, T, K].
            lengths: int [B], each in [1, T].

        Returns:
            ``(scores, paths)``: float [B] score of each best path (its true, unpenalised score
            whenever the constraints allow some path, which :func:`bio_constraints` always does),
            and int64 [B, T] tag ids, 0 past each length. A sequence with a NaN, inf or
            beyond-``SCORE_LIMIT`` emission within its length, or every sequence if a CRF
            parameter is such, gets score NaN and meaningless (but in-range) tags: callers
            check the scores (one read they make anyway) and refuse those tags.
        """
        emissions, lengths, _ = self._validate(emissions, lengths)
        positions, mask = self._positions(emissions, lengths)  # shape: (batch, time) each
        usable = self._usable(emissions, mask)  # shape: (batch,)
        potentials, transitions = self._potentials(_within_limit(emissions), positions, lengths)
        if self.num_tags == 1:
            scores, paths = self._decode_one_tag(potentials, transitions, lengths)
        else:
            scores, paths = self._viterbi(potentials, transitions, positions, mask, lengths)
        return paddle.where(usable, scores, _nan_like(scores)), paths

    # ------------------------------------------------------------------ internals

    def _usable(self, emissions: paddle.Tensor, mask: paddle.Tensor) -> paddle.Tensor:
        """bool [B]: every real emission of the sequence and every CRF parameter is a usable
        score (finite, within SCORE_LIMIT). No device read: decode folds it into its scores."""
        fine = _is_within_limit(emissions) | ~mask.unsqueeze(2)  # shape: (batch, time, num_tags)
        params = [paddle.all(_is_within_limit(p)) for p in (self.start, self.end, self.transitions)]
        return paddle.all(fine, axis=[1, 2]) & params[0] & params[1] & params[2]  # shape: (batch,)

    def _potentials(self, emissions, positions, lengths) -> Tuple[paddle.Tensor, paddle.Tensor]:
        """Decode-time scores with the constraints applied and every value within SCORE_LIMIT:
        (potentials [B, T, K] = emissions plus start and end scores, transitions [K, K])."""
        dtype = emissions.dtype
        first = (positions == 0).astype(dtype).unsqueeze(2)  # shape: (batch, time, 1)
        last = (positions == (lengths - 1).unsqueeze(1)).astype(dtype).unsqueeze(2)  # shape: (batch, time, 1)
        start = _within_limit(self.start)  # shape: (num_tags,)
        start = paddle.where(self.allowed_start, start, paddle.full_like(start, FORBIDDEN_SCORE))
        transitions = _within_limit(self.transitions)  # shape: (from, to)
        transitions = paddle.where(self.allowed_transitions, transitions,
                                   paddle.full_like(transitions, FORBIDDEN_SCORE))
        # Start and end scores ride on the first and the last real emission of each sequence, so
        # the op needs no BOS/EOS tags (a length-1 sequence gets both on position 0).
        potentials = emissions + first * start + last * _within_limit(self.end)  # shape: (batch, time, num_tags)
        return potentials, transitions

    @staticmethod
    def _decode_one_tag(potentials, transitions, lengths) -> Tuple[paddle.Tensor, paddle.Tensor]:
        """Viterbi for K = 1 (a label set of only ``O``), which Paddle's op cannot do (it slices
        out of range): the one path is all zeros, its score the sum of its potentials (zero
        past each length) plus ``lengths - 1`` self-transitions. Returns float [B], int64 [B, T]."""
        steps = (lengths - 1).astype(potentials.dtype)  # shape: (batch,)
        scores = potentials.sum(axis=[1, 2]) + steps * transitions[0, 0]  # shape: (batch,)
        paths = paddle.zeros_like(potentials[:, :, 0], dtype="int64")  # shape: (batch, time)
        return scores, paths

    @staticmethod
    def _viterbi(potentials, transitions, positions, mask, lengths) -> Tuple[paddle.Tensor, paddle.Tensor]:
        """Paddle's Viterbi op on [B, T, K] potentials and [K, K] transitions; returns float [B]
        scores and int64 [B, T] paths, 0 past each length."""
        # paddle.text.viterbi_decode is the functional form of paddle.text.ViterbiDecoder
        # (whose forward calls exactly this); it reads transitions as [from, to]. The
        # compat_paddle wrapper repairs its static-graph output metadata (wrong on both Paddle 2.6
        # and 3.x).
        # shape: (batch,), (batch, max(lengths))
        scores, paths = viterbi_decode(potentials, transitions, lengths)
        # The op returns paths of width max(lengths), not T: widen to T by repeating the last
        # column (index clamped to max(lengths) - 1, no static shape needed), then zero
        # everything past each length.
        index = paddle.minimum(positions, paddle.max(lengths) - 1)  # shape: (batch, time)
        paths = paddle.take_along_axis(paths, index, axis=1)  # shape: (batch, time)
        paths = paddle.where(mask, paths, paddle.zeros_like(paths))  # shape: (batch, time)
        return scores, paths

    def _log_partition(self, emissions: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        # Forward algorithm, vectorised over the batch. alpha[b, j] = log of the summed
        # exp-scores of all prefixes of sequence b ending in tag j at the current position,
        # minus ``shift[b]``: alpha is re-centred at every step (its row max, detached, moves
        # into shift), which changes no value but keeps the numbers that logsumexp's backward
        # works with small. Without it they grow like log Z (about 600 for 128 characters, where
        # a float32 step is 6e-5), and the CRF gradient lost three orders of magnitude against
        # Paddle 1.8's linear_chain_crf (tests/test_paddlehub_run.py, the 306-step run).
        # Everything that does not depend on alpha is computed for all steps at once.
        _, mask = self._positions(emissions, lengths)  # shape: (batch, time)
        keep_going = paddle.unbind(mask.transpose([1, 0]).unsqueeze(2), axis=0)  # T x shape: (batch, 1)
        # [b, t, i, j]: score of moving from tag i at t - 1 to tag j at t (used for t >= 1).
        # shape: (batch, time, from, to)
        step_scores = self.transitions.unsqueeze(0).unsqueeze(0) + emissions.unsqueeze(2)
        steps = paddle.unbind(step_scores.transpose([1, 0, 2, 3]), axis=0)  # T x shape: (batch, from, to)
        alpha = self.start.unsqueeze(0) + emissions[:, 0]  # shape: (batch, num_tags)
        shift = alpha.max(axis=1, keepdim=True).detach()  # shape: (batch, 1)
        alpha = alpha - shift
        for t in range(1, len(steps)):
            advanced = paddle.logsumexp(alpha.unsqueeze(2) + steps[t], axis=1)  # shape: (batch, num_tags)
            centre = advanced.max(axis=1, keepdim=True).detach()  # shape: (batch, 1)
            # A finished sequence keeps the alpha (and shift) of its last position.
            alpha = paddle.where(keep_going[t], advanced - centre, alpha)  # shape: (batch, num_tags)
            shift = shift + paddle.where(keep_going[t], centre, paddle.zeros_like(centre))
        return paddle.logsumexp(alpha + self.end.unsqueeze(0), axis=1) + shift.squeeze(1)  # shape: (batch,)

    def _score(self, emissions: paddle.Tensor, tags: paddle.Tensor, lengths: paddle.Tensor) -> paddle.Tensor:
        positions, mask = self._positions(emissions, lengths)  # shape: (batch, time) each
        # Padding tags may be -100 or anything else: make them valid indices, then mask them out.
        tags = paddle.where(mask, tags, paddle.zeros_like(tags))  # shape: (batch, time)
        emitted = paddle.take_along_axis(emissions, tags.unsqueeze(2), axis=2).squeeze(2)  # shape: (batch, time)
        emitted = paddle.where(mask, emitted, paddle.zeros_like(emitted))
        # The transition into position t comes from tags[t - 1]. roll (wrapping at t = 0, which
        # is masked) rather than tags[:, :-1], whose size is 0 when T = 1 (Paddle 2.6 rejects that).
        previous = paddle.roll(tags, shifts=1, axis=1)  # shape: (batch, time)
        moved = paddle.gather_nd(self.transitions, paddle.stack([previous, tags], axis=2))  # shape: (batch, time)
        moved = paddle.where(mask & (positions > 0), moved, paddle.zeros_like(moved))
        last_tags = paddle.take_along_axis(tags, (lengths - 1).unsqueeze(1), axis=1).squeeze(1)  # shape: (batch,)
        return (
            paddle.gather(self.start, tags[:, 0])
            + emitted.sum(axis=1)
            + moved.sum(axis=1)
            + paddle.gather(self.end, last_tags)
        )  # shape: (batch,)

    @staticmethod
    def _positions(emissions: paddle.Tensor, lengths: paddle.Tensor) -> Tuple[paddle.Tensor, paddle.Tensor]:
        """Time index [B, T] int64 and validity mask [B, T] bool, built without reading T on the
        host, so that the same code runs with a dynamic time dimension under to_static."""
        ones = paddle.ones_like(emissions[:, :, 0], dtype="int64")  # shape: (batch, time)
        positions = paddle.cumsum(ones, axis=1) - 1  # shape: (batch, time)
        return positions, positions < lengths.unsqueeze(1)

    def _validate(self, emissions, lengths, tags=None):
        """Check the inputs (dynamic mode only) and return them in the computation dtypes, with
        emissions past each length zeroed.

        Under ``to_static`` shapes are symbolic and values unknown, so the checks run only in
        dynamic mode; the traced graph then contains just the casts and the masking.
        """
        if paddle.in_dynamic_mode():
            self._check(emissions, lengths, tags)
        # The Viterbi op requires int64 lengths.
        if lengths.dtype != paddle.int64:
            lengths = lengths.astype("int64")
        if tags is not None and tags.dtype != paddle.int64:
            tags = tags.astype("int64")
        if emissions.dtype != self.transitions.dtype:
            emissions = emissions.astype(self.transitions.dtype)
        _, mask = self._positions(emissions, lengths)  # shape: (batch, time)
        # Zero the padding so that inf/NaN there cannot leak into results or gradients.
        emissions = paddle.where(mask.unsqueeze(2), emissions, paddle.zeros_like(emissions))
        return emissions, lengths, tags

    def _check(self, emissions, lengths, tags):
        shape = list(emissions.shape)
        if len(shape) != 3:
            raise ValueError(f"emissions must have shape [batch, time, num_tags], got {shape}")
        if shape[2] != self.num_tags:
            raise ValueError(
                f"expected last dimension of emissions to be {self.num_tags}, got {shape[2]} (shape {shape})"
            )
        if emissions.dtype not in _FLOAT_DTYPES:
            raise ValueError(f"emissions must be a float tensor, got {emissions.dtype}")
        if len(lengths.shape) != 1:
            raise ValueError(f"lengths must have shape [batch], got {list(lengths.shape)} (emissions {shape})")
        if lengths.shape[0] != shape[0]:
            raise ValueError(
                f"lengths must have shape [{shape[0]}] to match emissions {shape}, got {list(lengths.shape)}"
            )
        if lengths.dtype not in _INT_DTYPES:
            raise ValueError(f"lengths must be an integer tensor, got {lengths.dtype}")
        if tags is not None:
            if list(tags.shape) != shape[:2]:
                raise ValueError(f"tags must have shape {shape[:2]} to match emissions {shape}, got {list(tags.shape)}")
            if tags.dtype not in _INT_DTYPES:
                raise ValueError(f"tags must be an integer tensor, got {tags.dtype}")
        if self.check_values:
            self._check_values(shape[1], lengths.astype("int64"), None if tags is None else tags.astype("int64"))

    def _check_values(self, time, lengths, tags):
        # One device->host read per call; the detailed message is built only on failure.
        bad = (lengths < 1) | (lengths > time)  # shape: (batch,)
        bad_tags = None
        if tags is not None:
            valid = paddle.arange(time, dtype="int64").unsqueeze(0) < lengths.unsqueeze(1)  # shape: (batch, time)
            bad_tags = valid & ((tags < 0) | (tags >= self.num_tags))  # shape: (batch, time)
            bad = bad | bad_tags.any(axis=1)
        if not bool(bad.any()):
            return
        lengths_np = lengths.numpy()
        wrong = lengths_np[(lengths_np < 1) | (lengths_np > time)]
        if wrong.size:
            raise ValueError(f"lengths must be in [1, {time}] (the time dimension of emissions), got {wrong.tolist()}")
        rows, cols = np.nonzero(bad_tags.numpy())
        values = tags.numpy()[rows, cols]
        raise ValueError(
            f"tags within each length must be in [0, {self.num_tags}), got {values[:10].tolist()} "
            f"at (batch, time) {list(zip(rows[:10].tolist(), cols[:10].tolist()))}"
        )


def _is_within_limit(scores: paddle.Tensor) -> paddle.Tensor:
    """bool, same shape: finite and within SCORE_LIMIT (False for NaN, whose comparisons fail)."""
    return paddle.abs(scores) <= SCORE_LIMIT


def _within_limit(scores: paddle.Tensor) -> paddle.Tensor:
    """``scores`` with every NaN, inf or beyond-SCORE_LIMIT value replaced by 0, so the Viterbi
    op never sees one; decode reports the affected sequences through their NaN score."""
    return paddle.where(_is_within_limit(scores), scores, paddle.zeros_like(scores))


def _nan_like(scores: paddle.Tensor) -> paddle.Tensor:
    """NaN, same shape and dtype. Made at run time (inf * 0): Paddle 3.3 cannot write a NaN
    constant into an exported graph (``paddle.jit.save`` fails with "key 'D' not found")."""
    return paddle.full_like(scores, float("inf")) * 0


_FLOAT_DTYPES = (paddle.float16, paddle.bfloat16, paddle.float32, paddle.float64)
_INT_DTYPES = (paddle.int8, paddle.uint8, paddle.int16, paddle.int32, paddle.int64)
