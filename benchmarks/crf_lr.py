"""How far do the CRF's transition scores move under the paper's optimiser, per ``crf_lr``?

A toy, not a result on real data: K=7 BIO tags, gold sequences from a BIO Markov chain, fixed
noisy emissions (signal 2, noise N(0, 1.5)), and only the CRF trains: AdamW at lr 5e-5, weight
decay 0.01, 2,608 steps of 16 sequences (the paper's 2 epochs over 20,864 sentences). It
prints, for crf_lr 1 / 10 / 100, the largest change of any transition score and how many
unconstrained and constrained decodes are ill-formed BIO.

    python benchmarks/crf_lr.py [STEPS]
"""
import sys
import time

import numpy as np
import paddle

from paddle_ner.crf import CRF, bio_constraints

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
K, BATCH, TIME = len(LABELS), 16, 32


def markov_chain():
    """Transition and start probabilities of well-formed BIO sequences over 3 types."""
    trans = np.zeros((K, K))
    trans[0] = [0.8] + [0.2 / 3, 0] * 3
    for x in range(3):
        b, i = 1 + 2 * x, 2 + 2 * x
        for row, (stay, leave) in ((b, (0.6, 0.3)), (i, (0.5, 0.4))):
            trans[row, 0], trans[row, i] = leave, stay
            for y in range(3):
                if y != x:
                    trans[row, 1 + 2 * y] = 0.05
    return trans, np.array([0.8] + [0.2 / 3, 0] * 3)


def sample(rng, n, trans, start):
    tags = np.zeros((n, TIME), dtype=np.int64)
    for s in range(n):
        tags[s, 0] = rng.choice(K, p=start)
        for t in range(1, TIME):
            tags[s, t] = rng.choice(K, p=trans[tags[s, t - 1]])
    emissions = 2.0 * np.eye(K)[tags] + 1.5 * rng.randn(n, TIME, K)
    return emissions.astype("float32"), tags


def ill_formed(paths, allowed, allowed_start):
    bad = ~allowed_start[paths[:, 0]]
    for t in range(1, TIME):
        bad |= ~allowed[paths[:, t - 1], paths[:, t]]
    return bad.mean()


def main(steps: int) -> None:
    paddle.set_device("cpu")
    allowed, allowed_start = bio_constraints(LABELS)
    trans, start = markov_chain()
    rng = np.random.RandomState(0)
    pool_em, pool_tags = sample(rng, 2000, trans, start)
    test_em, test_tags = sample(rng, 1000, trans, start)
    lengths = paddle.full([BATCH], TIME, dtype="int64")
    test_lengths = paddle.full([len(test_em)], TIME, dtype="int64")
    print(f"{steps} AdamW steps at lr 5e-5, batch {BATCH}, {TIME} positions")
    print(f"{'crf_lr':>7} {'max|dTrans|':>12} {'unconstrained ill-formed':>25} {'constrained ill-formed':>23} {'tag acc':>8}")
    for mult in (1.0, 10.0, 100.0):
        paddle.seed(0)
        crf = CRF(K, lr_mult=mult)
        constrained = CRF(K, lr_mult=mult, allowed_transitions=allowed, allowed_start=allowed_start)
        init = crf.transitions.numpy().copy()
        opt = paddle.optimizer.AdamW(learning_rate=5e-5, parameters=crf.parameters(), weight_decay=0.01)
        r = np.random.RandomState(1)
        started = time.time()
        for _ in range(steps):
            idx = r.randint(len(pool_em), size=BATCH)
            loss = crf.nll(paddle.to_tensor(pool_em[idx]), paddle.to_tensor(pool_tags[idx]), lengths).mean()
            loss.backward()
            opt.step()
            opt.clear_grad()
        delta = np.abs(crf.transitions.numpy() - init).max()
        free = crf.decode(paddle.to_tensor(test_em), test_lengths)[1].numpy()
        constrained.set_state_dict({k: v for k, v in crf.state_dict().items() if not k.startswith("allowed")})
        fixed = constrained.decode(paddle.to_tensor(test_em), test_lengths)[1].numpy()
        print(f"{mult:>7g} {delta:>12.3f} {100 * ill_formed(free, allowed, allowed_start):>24.1f}% "
              f"{100 * ill_formed(fixed, allowed, allowed_start):>22.1f}% {100 * (fixed == test_tags).mean():>7.1f}%"
              f"   ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2608)
