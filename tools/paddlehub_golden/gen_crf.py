# Python 3.8, run INSIDE the PaddleHub 1.5.4 side environment (see setup_env.sh).
"""Record tests/golden/crf.json: Paddle 1.8.5's fluid.layers.linear_chain_crf (per-sequence cost,
the batch mean that SequenceLabelTask uses as its loss, gradients of that mean w.r.t. the
emissions and crfw through fluid.backward.append_backward) and fluid.layers.crf_decoding (best
paths) on given LoD inputs, K=7 tags, with a given crfw of shape [K+2, K]. Every number is also
checked here against brute-force enumeration of all K^L tag paths, which pins the layout:
crfw row 0 = start scores, row 1 = end scores, rows 2.. = transition[from, to].

Also records crfw as SequenceLabelTask creates it (fluid.layers.create_parameter(shape=[K+2, K],
dtype, name='crfw'), default initializer = Xavier uniform) for a few program seeds.

Usage: /tmp/ph15/bin/python tools/paddlehub_golden/gen_crf.py
"""
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402
import paddle.fluid as fluid  # noqa: E402

K = 7
SEED = 1234
LENGTHS = [1, 4, 6, 3, 2]


def logsumexp(a):
    m = np.max(a)
    return m + np.log(np.sum(np.exp(a - m)))


def brute_force(em, labels, lengths, crfw):
    """NLL per sequence, gradient of mean NLL, and argmax path, by enumeration (float64)."""
    start, end, trans = crfw[0], crfw[1], crfw[2:]
    n = len(lengths)
    nll, paths = [], []
    g_em = np.zeros_like(em)
    g_w = np.zeros_like(crfw)
    off = 0
    for L in lengths:
        e = em[off:off + L]
        y = labels[off:off + L]
        all_paths = np.array(list(itertools.product(range(K), repeat=L)))
        scores = start[all_paths[:, 0]] + end[all_paths[:, -1]] + e[np.arange(L), all_paths].sum(1)
        if L > 1:
            scores = scores + trans[all_paths[:, :-1], all_paths[:, 1:]].sum(1)
        logz = logsumexp(scores)
        gold = start[y[0]] + end[y[-1]] + e[np.arange(L), y].sum() + (trans[y[:-1], y[1:]].sum() if L > 1 else 0.0)
        nll.append(logz - gold)
        paths.append(all_paths[int(np.argmax(scores))].tolist())
        prob = np.exp(scores - logz)
        # expected counts minus gold counts, divided by n (mean over sequences)
        for t in range(L):
            np.add.at(g_em[off + t], all_paths[:, t], prob / n)
            g_em[off + t, y[t]] -= 1.0 / n
        np.add.at(g_w[0], all_paths[:, 0], prob / n)
        g_w[0, y[0]] -= 1.0 / n
        np.add.at(g_w[1], all_paths[:, -1], prob / n)
        g_w[1, y[-1]] -= 1.0 / n
        for t in range(1, L):
            np.add.at(g_w[2:], (all_paths[:, t - 1], all_paths[:, t]), prob / n)
            g_w[2 + y[t - 1], y[t]] -= 1.0 / n
        off += L
    return np.array(nll), g_em, g_w, paths


def run_crf(em, labels, lengths, crfw):
    main, startup = fluid.Program(), fluid.Program()
    with fluid.program_guard(main, startup), fluid.unique_name.guard():
        x = fluid.layers.data(name="emission", shape=[K], dtype="float32", lod_level=1)
        x.stop_gradient = False
        y = fluid.layers.data(name="label", shape=[1], dtype="int64", lod_level=1)
        attr = fluid.ParamAttr(name="crfw", initializer=fluid.initializer.NumpyArrayInitializer(crfw))
        cost = fluid.layers.linear_chain_crf(input=x, label=y, param_attr=attr)
        loss = fluid.layers.mean(x=cost)
        fluid.backward.append_backward(loss)
        path = fluid.layers.crf_decoding(input=x, param_attr=fluid.ParamAttr(name="crfw"))
    place = fluid.CPUPlace()
    exe = fluid.Executor(place)
    scope = fluid.Scope()
    with fluid.scope_guard(scope):
        exe.run(startup)
        feed = {"emission": fluid.create_lod_tensor(em, [lengths], place),
                "label": fluid.create_lod_tensor(labels.reshape(-1, 1), [lengths], place)}
        res = exe.run(main, feed=feed, fetch_list=[cost, loss, "emission@GRAD", "crfw@GRAD", path],
                      return_numpy=False)
    cost_v, loss_v, g_em, g_w, path_t = res
    path_lod = path_t.lod()
    return (np.array(cost_v), np.array(loss_v), np.array(g_em), np.array(g_w),
            np.array(path_t).reshape(-1), path_lod)


def xavier_crfw(seed):
    main, startup = fluid.Program(), fluid.Program()
    main.random_seed = startup.random_seed = seed
    with fluid.program_guard(main, startup), fluid.unique_name.guard():
        fluid.layers.create_parameter(shape=[K + 2, K], dtype="float32", name="crfw")
    scope = fluid.Scope()
    exe = fluid.Executor(fluid.CPUPlace())
    with fluid.scope_guard(scope):
        exe.run(startup)
        w = np.array(scope.find_var("crfw").get_tensor())
    init_ops = [(op.type, {k: op.attr(k) for k in ("min", "max", "seed") if op.has_attr(k)}) for op in startup.global_block().ops]
    return w, init_ops


def main():
    rng = np.random.RandomState(SEED)
    total = sum(LENGTHS)
    em = (rng.randn(total, K) * 1.5).astype("float32")
    labels = rng.randint(0, K, size=total).astype("int64")
    crfw = rng.uniform(-1, 1, (K + 2, K)).astype("float32")
    cost, loss, g_em, g_w, path, path_lod = run_crf(em, labels, LENGTHS, crfw)

    bf_nll, bf_gem, bf_gw, bf_paths = brute_force(em.astype(np.float64), labels, LENGTHS, crfw.astype(np.float64))
    flat_paths = [t for p in bf_paths for t in p]
    err = {
        "cost_vs_bruteforce_nll": float(np.abs(cost.reshape(-1) - bf_nll).max()),
        "grad_emission_vs_bruteforce": float(np.abs(g_em - bf_gem).max()),
        "grad_crfw_vs_bruteforce": float(np.abs(g_w - bf_gw).max()),
        "decode_equals_bruteforce_argmax": path.tolist() == flat_paths,
    }
    assert err["cost_vs_bruteforce_nll"] < 1e-4 and err["grad_emission_vs_bruteforce"] < 1e-5
    assert err["grad_crfw_vs_bruteforce"] < 1e-5 and err["decode_equals_bruteforce_argmax"], err

    # The transposed reading would not match: proves rows 2.. are [from, to].
    tw = crfw.astype(np.float64).copy()
    tw[2:] = tw[2:].T
    bf_t, _, _, _ = brute_force(em.astype(np.float64), labels, LENGTHS, tw)
    err["cost_vs_bruteforce_with_transposed_transitions (should be large)"] = float(np.abs(cost.reshape(-1) - bf_t).max())

    seeds = [1, 2, 3, 2020]
    xav = []
    for s in seeds:
        w, ops = xavier_crfw(s)
        xav.append({"program_random_seed": s, "min": common.f32(w.min()), "max": common.f32(w.max()),
                    "mean": float(w.mean()), "std": float(w.std()), "value": common.f32(w),
                    "startup_ops": [[t, a] for t, a in ops]})
    limit = float(np.sqrt(6.0 / ((K + 2) + K)))

    out = {"fixture": "crf", "description": __doc__.strip().split("\n\n")[0]}
    out["provenance"] = common.provenance(__file__, {
        "crfw_creation": common.cite("finetune/task/sequence_task.py", "fluid.layers.create_parameter("),
        "crf_decoding": common.cite("finetune/task/sequence_task.py", "self.ret_infers = fluid.layers.crf_decoding("),
        "linear_chain_crf": common.cite("finetune/task/sequence_task.py", "crf_cost = fluid.layers.linear_chain_crf("),
        "loss_is_batch_mean": common.cite("finetune/task/sequence_task.py", "loss = fluid.layers.mean(x=crf_cost)"),
        "fluid_linear_chain_crf": common.cite("layers/nn.py", "def linear_chain_crf(", package="paddle/fluid"),
        "fluid_crf_decoding": common.cite("layers/nn.py", "def crf_decoding(", package="paddle/fluid"),
        "default_initializer_xavier": common.cite("layer_helper_base.py", "attr._set_default_param_initializer()", package="paddle/fluid") + " -> " + common.cite("param_attr.py", "self._set_default_initializer(Xavier())", package="paddle/fluid"),
        "xavier_fans": common.cite("initializer.py", "class XavierInitializer(", package="paddle/fluid"),
    })
    out["layout"] = {
        "K": K,
        "labels": "tag ids 0..K-1 (in the NER task: PaddleHub's MSRA order %s)" % common.LABELS,
        "crfw": "[K+2, K] float32: row 0 = start score of each tag, row 1 = end (stop) score of each tag, "
                "rows 2..K+1 = transition[from_tag, to_tag] (row 2+i: from tag i)",
        "emission": "[sum(lengths), K] float32, sequences concatenated (LoD level 1, offsets = cumsum(lengths))",
        "score(y)": "crfw[0, y0] + sum_t emission[t, y_t] + sum_{t>0} crfw[2 + y_{t-1}, y_t] + crfw[1, y_{L-1}]",
        "cost": "per sequence: logsumexp over all paths of score - score(gold) = negative log-likelihood (>= 0)",
        "loss": "mean of cost over the sequences of the batch",
    }
    out["inputs"] = {"lengths": LENGTHS, "emission": common.f32(em), "labels": common.ints(labels),
                     "crfw": common.f32(crfw), "rng": "np.random.RandomState(%d): randn*1.5, randint(0,K), uniform(-1,1)" % SEED}
    out["outputs"] = {
        "cost": common.f32(cost.reshape(-1)),
        "loss_mean": common.f32(loss.reshape(-1)[0]),
        "grad_emission_of_mean_loss": common.f32(g_em),
        "grad_crfw_of_mean_loss": common.f32(g_w),
        "crf_decoding_path": common.ints(path),
        "crf_decoding_lod": [list(map(int, l)) for l in path_lod],
    }
    out["bruteforce"] = {"nll": [float(v) for v in bf_nll], "paths": bf_paths, "max_abs_err": err}
    out["xavier_crfw"] = {
        "how": "fluid.layers.create_parameter(shape=[K+2, K], dtype='float32', name='crfw') (no initializer: the "
               "LayerHelper default for floats, XavierInitializer(uniform=True) with fan_in = shape[0] = K+2, "
               "fan_out = shape[1] = K), startup program run with program.random_seed = seed",
        "theoretical_limit": limit,
        "theoretical_limit_formula": "sqrt(6 / (fan_in + fan_out)) = sqrt(6 / (2K + 2))",
        "runs": xav,
    }
    for x in xav:
        assert -limit <= x["min"] and x["max"] <= limit
    common.write_json("crf.json", out)


if __name__ == "__main__":
    main()
