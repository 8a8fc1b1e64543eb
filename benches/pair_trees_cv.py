#!/usr/bin/env python3
"""Gradient-boosted trees against the logistic pair model, cross-fitted within the even half of
AllSides (docs/clustering.md, "a nonlinear pair model"; not kept). Fold A is the stories
numbered 0 mod 4, fold B 2 mod 4: each fold's pairs are scored by the model fitted on the other,
pairs across the folds by both models' mean; the story models are refitted on those scores and
the even half is clustered online as train_pairs.py does. The odd half and UCI are not read.

    cargo bench --bench cluster_eval -- --pairs /tmp/pairs
    pip install scikit-learn numpy
    python3 benches/pair_trees_cv.py /tmp/pairs lr            # the logistic model
    python3 benches/pair_trees_cv.py /tmp/pairs gb 100 3 40   # trees: count, depth, leaf size
"""
import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_pairs as tp
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
base = sys.argv[1]
sides, sl = tp.load(base + '.allsides')
titles, tl = tp.load(base + '.titles')
orig_score = tp.score; orig_rf = tp.row_features
kind = sys.argv[2]
it, depth, leaf = (int(x) for x in sys.argv[3:6]) if len(sys.argv) > 5 else (100, 3, 40)
lr_rate = float(sys.argv[6]) if len(sys.argv) > 6 else 0.1
def sn(labels, i): return tp.story_number(labels[i]) or 1
def fit(rows, labels, fold):
    ok = [r for r in rows if r['found'] and sn(labels, r['new']) % 4 == fold and sn(labels, r['old']) % 4 == fold]
    X = np.array([orig_rf(r) for r in ok]); y = np.array([r['same'] for r in ok])
    if kind == 'lr': return ('lr', tp.fit(X.tolist(), y.tolist()))
    return ('gb', HistGradientBoostingClassifier(random_state=0, max_iter=it, max_depth=depth, min_samples_leaf=leaf, learning_rate=lr_rate, l2_regularization=1.0).fit(X, y))
def pred(m, rows):
    X = np.array([orig_rf(r) for r in rows])
    if m[0] == 'lr':
        b, w = m[1]; return 1/(1+np.exp(-np.clip(b + X @ np.array(w), -30, 30)))
    return m[1].predict_proba(X)[:, 1]
for rows, labels, key, sel in ((sides, sl, 'pb', lambda r: r['bodies']), (titles, tl, 'ph', lambda r: True), (sides, sl, 'ph', lambda r: True)):
    src = [r for r in rows if sel(r)] if key == 'pb' else (titles if rows is titles else None)
    if rows is sides and key == 'ph':
        # headline model for sides' headline-only pairs: trained on titles
        A, B = fit(titles, tl, 0), fit(titles, tl, 2)
    else:
        A, B = fit(src, labels, 0), fit(src, labels, 2)
    pa, pbb = pred(A, rows), pred(B, rows)
    for r, a, b in zip(rows, pa, pbb):
        fn, fo = sn(labels, r['new']) % 4, sn(labels, r['old']) % 4
        r[key] = b if (fn == 0 and fo == 0) else a if (fn == 2 and fo == 2) else (a + b) / 2
def score(model, x):
    if model == 'H': return x['ph']
    if model == 'B': return x['pb']
    return orig_score(model, x)
tp.score = score; tp.row_features = lambda r: r
models = ('H', 'B')
ex = ([], [])
tp.cluster(titles, len(tl), models, 0.6, collect=ex, labels=tl)
tp.cluster(sides, len(sl), models, 0.6, collect=ex, labels=sl)
stories = tuple(tp.fit([x for x, _ in e], [y for _, y in e]) for e in ex)
best = None
for theta in [x / 100 for x in range(84, 97)]:
    f = tp.cluster(sides, len(sl), models, theta, stories)
    e = tp.b3(sl, f, lambda i: sn(sl, i) % 2 == 0)
    ft = tp.cluster(titles, len(tl), models, theta, stories)
    t = tp.b3(tl, ft, lambda i: sn(tl, i) % 2 == 0)
    print(f"{theta:.2f} even {e[0]:.3f}/{e[1]:.3f}/{e[2]:.3f}  titles {t[0]:.3f}/{t[1]:.3f}/{t[2]:.3f}", flush=True)
