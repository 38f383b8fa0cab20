"""The n-gram classifier: feature matrices, the in-graph value transform, and the ONNX export.

The model is additive in logit space: logits = bias + sum_i x_i * W[id_i], where x is the
transformed value of feature i (sublinear tf * idf, L2-normalised per group). An ensemble of such
members with different value transforms stays additive: its contributions are the weighted sum
of the members' contributions.
"""

from __future__ import annotations

import numpy as np

import features

# scipy and onnx are imported where they are needed (training, export), so that Runner and batch
# work with numpy and onnxruntime alone (refresh_evidence.py in the base toolbox).


def matrix(texts, spec):
    """matrix returns the raw count CSR matrix (rows = texts, cols = feature ids) and the
    per-text feature lists."""
    import scipy.sparse as sp

    indptr, indices, data, feats = [0], [], [], []
    for t in texts:
        fs = features.extract(t, spec)
        feats.append(fs)
        for fid, v, _ in fs:
            indices.append(fid)
            data.append(v)
        indptr.append(len(indices))
    X = sp.csr_matrix((np.array(data, np.float64), np.array(indices, np.int64), np.array(indptr)),
                      shape=(len(texts), spec["num_ids"]))
    return X, feats


def idf_vector(X):
    """idf_vector: smooth idf ln((1+n)/(1+df)) + 1 over the rows of X (as scikit-learn)."""
    n = X.shape[0]
    df = np.bincount(X.indices, minlength=X.shape[1])
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def tfidf(X, idf, spec):
    """tfidf applies the graph's value transform to a count matrix (float32 like the graph)."""
    X = X.tocsr(copy=True).astype(np.float32)
    X.data = (1.0 + np.log(X.data)) * idf[X.indices]
    word = (X.indices < spec["char_offset"]).astype(np.float32)
    out = X.copy()
    for r in range(X.shape[0]):
        a, b = X.indptr[r], X.indptr[r + 1]
        d = X.data[a:b]
        w = word[a:b]
        nw = np.sqrt(np.sum(d * d * w))
        nc = np.sqrt(np.sum(d * d * (1 - w)))
        den = w * nw + (1 - w) * nc
        out.data[a:b] = d / np.maximum(den, 1e-12)
    return out


def meanbag(X):
    """meanbag: the embedding-bag member's value transform, count / total count of the row."""
    X = X.tocsr(copy=True).astype(np.float32)
    s = np.asarray(X.sum(axis=1)).ravel()
    for r in range(X.shape[0]):
        a, b = X.indptr[r], X.indptr[r + 1]
        X.data[a:b] = X.data[a:b] / max(s[r], 1e-12)
    return X


def export(path, spec, idf, W_tfidf, W_bag, bias, opset=17):
    """export writes the ONNX graph.

    inputs: ids int64 [B, N], values float32 [B, N] (padding: id 0, value 0)
    outputs: probs float32 [B, 3], contributions float32 [B, N, 3]
    contributions = x_tfidf * W_tfidf[ids] + x_bag * W_bag[ids]; logits = bias + sum_N contributions.
    W_bag may be None (single member)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(idf.astype(np.float32), "idf"),
        numpy_helper.from_array(W_tfidf.astype(np.float32), "w_tfidf"),
        numpy_helper.from_array(bias.astype(np.float32).reshape(1, -1), "bias"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1e-12, np.float32), "eps"),
        numpy_helper.from_array(np.array(spec["char_offset"], np.int64), "char_offset"),
        numpy_helper.from_array(np.array([1], np.int64), "ax1"),
        numpy_helper.from_array(np.array([-1], np.int64), "axm1"),
    ]
    n = []
    A = n.append
    # tf = (1 + ln(max(v, 1))) * (v > 0)
    A(helper.make_node("Max", ["values", "one"], ["vmax"]))
    A(helper.make_node("Log", ["vmax"], ["lv"]))
    A(helper.make_node("Add", ["lv", "one"], ["tf0"]))
    A(helper.make_node("Greater", ["values", "zero"], ["pos_b"]))
    A(helper.make_node("Cast", ["pos_b"], ["pos"], to=TensorProto.FLOAT))
    A(helper.make_node("Mul", ["tf0", "pos"], ["tf"]))
    A(helper.make_node("Gather", ["idf", "ids"], ["idf_g"], axis=0))
    A(helper.make_node("Mul", ["tf", "idf_g"], ["x"]))
    # group masks
    A(helper.make_node("Less", ["ids", "char_offset"], ["isw_b"]))
    A(helper.make_node("Cast", ["isw_b"], ["isw"], to=TensorProto.FLOAT))
    A(helper.make_node("Sub", ["one", "isw"], ["isc"]))
    A(helper.make_node("Mul", ["x", "x"], ["x2"]))
    A(helper.make_node("Mul", ["x2", "isw"], ["x2w"]))
    A(helper.make_node("Mul", ["x2", "isc"], ["x2c"]))
    A(helper.make_node("ReduceSum", ["x2w", "ax1"], ["sw"], keepdims=1))
    A(helper.make_node("ReduceSum", ["x2c", "ax1"], ["sc"], keepdims=1))
    A(helper.make_node("Sqrt", ["sw"], ["nw"]))
    A(helper.make_node("Sqrt", ["sc"], ["nc"]))
    A(helper.make_node("Mul", ["isw", "nw"], ["dw"]))
    A(helper.make_node("Mul", ["isc", "nc"], ["dc"]))
    A(helper.make_node("Add", ["dw", "dc"], ["den0"]))
    A(helper.make_node("Max", ["den0", "eps"], ["den"]))
    A(helper.make_node("Div", ["x", "den"], ["xn"]))
    A(helper.make_node("Unsqueeze", ["xn", "axm1"], ["xn3"]))
    A(helper.make_node("Gather", ["w_tfidf", "ids"], ["wg"], axis=0))
    if W_bag is None:
        A(helper.make_node("Mul", ["xn3", "wg"], ["contributions"]))
    else:
        inits.append(numpy_helper.from_array(W_bag.astype(np.float32), "w_bag"))
        A(helper.make_node("Mul", ["xn3", "wg"], ["c_tfidf"]))
        A(helper.make_node("ReduceSum", ["values", "ax1"], ["vs"], keepdims=1))
        A(helper.make_node("Max", ["vs", "eps"], ["vs1"]))
        A(helper.make_node("Div", ["values", "vs1"], ["xb"]))
        A(helper.make_node("Unsqueeze", ["xb", "axm1"], ["xb3"]))
        A(helper.make_node("Gather", ["w_bag", "ids"], ["bg"], axis=0))
        A(helper.make_node("Mul", ["xb3", "bg"], ["c_bag"]))
        A(helper.make_node("Add", ["c_tfidf", "c_bag"], ["contributions"]))
    A(helper.make_node("ReduceSum", ["contributions", "ax1"], ["csum"], keepdims=0))
    A(helper.make_node("Add", ["csum", "bias"], ["logits"]))
    A(helper.make_node("Softmax", ["logits"], ["probs"], axis=-1))
    g = helper.make_graph(
        n, "sentio_ngram_classifier",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["B", "N"]),
         helper.make_tensor_value_info("values", TensorProto.FLOAT, ["B", "N"])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["B", 3]),
         helper.make_tensor_value_info("contributions", TensorProto.FLOAT, ["B", "N", 3])],
        inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="sentio-models-reasoning")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def batch(feat_lists):
    """batch pads feature lists into (ids, values) arrays as the Go runtime sends them."""
    N = max(1, max(len(f) for f in feat_lists))
    ids = np.zeros((len(feat_lists), N), np.int64)
    vals = np.zeros((len(feat_lists), N), np.float32)
    for i, fs in enumerate(feat_lists):
        for j, (fid, v, _) in enumerate(fs):
            ids[i, j] = fid
            vals[i, j] = v
    return ids, vals


class Runner:
    """Runner runs the exported graph with onnxruntime (single thread, deterministic)."""

    def __init__(self, path, threads=1):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    def run(self, feat_lists, bs=256):
        probs, contribs = [], []
        for i in range(0, len(feat_lists), bs):
            chunk = feat_lists[i:i + bs]
            ids, vals = batch(chunk)
            p, c = self.sess.run(["probs", "contributions"], {"ids": ids, "values": vals})
            probs.append(p)
            for j, fs in enumerate(chunk):
                contribs.append(c[j, :len(fs)])
        return np.concatenate(probs), contribs
