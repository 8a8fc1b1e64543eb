#!/usr/bin/env python3
"""Trains the pair scorer of src/cluster/judge.rs and measures the verdict it gives, online, as
the ingest path does.

    cargo bench --bench cluster_eval -- --pairs /tmp/pairs   # writes /tmp/pairs.{allsides,uci,titles}
    python3 benches/train_pairs.py /tmp/pairs

The protocol (issue 21), so that the figures generalise:
- training and the choice of thresholds use only pairs of AllSides articles whose stories both
  have an even number; the odd stories are held out, scored inside the full run;
- pairs of entries that both have a body are scored by one model, pairs where one is a headline
  alone by another, trained on AllSides' headlines alone (its bodies removed): the UCI sample
  (headlines) is for checking, never for fitting;
- logistic regression over the figures of `cluster::Pair`, fitted by Newton's method with a
  small L2 penalty; the weights are printed as Rust constants for judge.rs.
No third-party packages: plain Python 3.
"""
import math
import sys
from collections import defaultdict

FEATURES = ["all", "title", "names", "body", "shared", "rare", "apart", "short", "strangers"]


def row_features(r):
    """The model's inputs from one dumped pair (the same transform judge.rs applies)."""
    return [
        r["all"],
        r["title"],
        r["names"],
        r["body"] if r["bodies"] else 0.0,
        math.log1p(r["shared"]),
        math.log1p(r["rare"]),
        r["apart"],
        1.0 / max(r["words"], 1.0),
        math.log1p(r["strangers"]),
    ]


def ruled_out(r):
    """Pairs judge.rs rules out by hand: one shared word (a subject, not an event; two for a
    headline alone), a headline much alike over a text unlike the other's (another event under
    a shared headline: a template), and headlines much alike naming other people or places."""
    shared_headline = r["bodies"] and r["title"] >= 0.6 and r["body"] < 0.35 * r["title"] - 0.05
    template = r["title"] >= 0.6 and r["strangers"] >= 1
    return r["shared"] < (2 if r["bodies"] else 3) or shared_headline or template


def load(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = []
        for line in f:
            v = line.rstrip("\n").split("\t")
            r = dict(zip(header, v))
            for k in header:
                r[k] = float(r[k]) if k not in ("new", "old", "new_story", "same", "bodies", "found") else int(r[k])
            rows.append(r)
    with open(path.rsplit(".", 1)[0] + "." + path.rsplit(".", 1)[1] + ".labels") as f:
        labels = [l.rstrip("\n") for l in f]
    return rows, labels


def story_number(label):
    return int(label[2:]) if label.startswith("as") and label[2:].isdigit() else None


def solve(a, b):
    """Solves a x = b (Gaussian elimination with partial pivoting)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))) / m[r][r]
    return x


def fit(xs, ys, l2=1.0, iters=25):
    """Logistic regression by Newton's method; returns (bias, weights)."""
    d = len(xs[0]) + 1
    w = [0.0] * d
    data = [([1.0] + x, y) for x, y in zip(xs, ys)]
    for _ in range(iters):
        g = [0.0] * d
        h = [[0.0] * d for _ in range(d)]
        for x, y in data:
            z = sum(wi * xi for wi, xi in zip(w, x))
            p = 1.0 / (1.0 + math.exp(-max(min(z, 30), -30)))
            for i in range(d):
                g[i] += (p - y) * x[i]
                s = p * (1 - p) * x[i]
                for j in range(i, d):
                    h[i][j] += s * x[j]
        for i in range(d):
            for j in range(i):
                h[i][j] = h[j][i]
            if i > 0:
                g[i] += l2 * w[i]
                h[i][i] += l2
        step = solve(h, g)
        w = [wi - si for wi, si in zip(w, step)]
        if max(abs(s) for s in step) < 1e-7:
            break
    return w[0], w[1:]


def score(model, x):
    b, w = model
    z = b + sum(wi * xi for wi, xi in zip(w, x))
    return 1.0 / (1.0 + math.exp(-max(min(z, 30), -30)))


def story_inputs(mean, best, nxt):
    """The story model's inputs (the same as judge.rs): the mean chance over the story's
    entries, the best single one, and the next story's mean (the margin over the runner-up)."""
    return [mean, best, nxt]


def cluster(rows, n, models, theta, stories=None, collect=None, labels=None):
    """The online verdict over n articles in time order, as judge.rs gives it: a copy (bodies
    0.9 alike) joins its story; else each story the index found is weighed by the pair scores of
    its entries in the window: with `stories` (models for headlines alone and for bodies), the
    story model over (mean, best, next story's mean), else the mean alone (average link); the
    best story joins if that reaches theta. `collect` gathers story examples of the even half
    (inputs, label) for fitting the story models."""
    by_new = defaultdict(list)
    for r in rows:
        by_new[r["new"]].append(r)
    found = list(range(n))
    members = defaultdict(list)
    for i in range(n):
        cands = by_new.get(i, [])
        copies = [r for r in cands if r["found"] and r["bodies"] and r["body"] >= 0.9]
        if copies:
            s = found[max(copies, key=lambda r: r["body"])["old"]]
            found[i] = s
            members[s].append(i)
            continue
        candidates = {found[r["old"]] for r in cands if r["found"]}
        p_of = {}
        headline = True
        for r in cands:
            if found[r["old"]] in candidates:
                m = models[1] if r["bodies"] else models[0]
                p_of[r["old"]] = 0.0 if ruled_out(r) else score(m, row_features(r))
                headline = headline and not r["bodies"]
        weighed = []
        for s in candidates:
            # The story's entries in the window from other outlets (those with a pair row).
            ps = [p_of[j] for j in members[s] if j in p_of]
            weighed.append((s, sum(ps) / len(ps), max(ps)))
        ranked = []
        for s, mean, best in weighed:
            nxt = max((m for t, m, _ in weighed if t != s), default=0.0)
            x = story_inputs(mean, best, nxt)
            if collect is not None and labels is not None:
                own = [labels[j] for j in members[s]]
                if story_number(labels[i]) % 2 == 0 and all(story_number(l) % 2 == 0 for l in own):
                    # The most frequent label; of equals, the earliest entry's (deterministic).
                    majority = max(own, key=lambda l: (own.count(l), -own.index(l)))
                    collect[0 if headline else 1].append((x, int(majority == labels[i])))
            v = mean if stories is None else score(stories[0 if headline else 1], x)
            ranked.append((v, s))
        ranked.sort(reverse=True)
        if ranked and ranked[0][0] >= theta:
            s = ranked[0][1]
            found[i] = s
            members[s].append(i)
        else:
            members[i].append(i)
    return found


def b3(labels, found, keep):
    size_f, size_g, both = defaultdict(int), defaultdict(int), defaultdict(int)
    for g, f in zip(labels, found):
        size_f[f] += 1
        size_g[g] += 1
        both[(g, f)] += 1
    p = r = n = 0
    for i, (g, f) in enumerate(zip(labels, found)):
        if not keep(i):
            continue
        c = both[(g, f)]
        p += c / size_f[f]
        r += c / size_g[g]
        n += 1
    p, r = p / n, r / n
    return p, r, 2 * p * r / (p + r)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    # The held-out half and the UCI check are shown only when asked: tuning looks at the even
    # half alone.
    held_out = "--held-out" in sys.argv
    base = args[0] if args else "/tmp/pairs"
    sides, side_labels = load(base + ".allsides")
    titles, title_labels = load(base + ".titles")
    uci, uci_labels = load(base + ".uci")
    even = lambda labels: (lambda i: (story_number(labels[i]) or 0) % 2 == 0)
    odd = lambda labels: (lambda i: (story_number(labels[i]) or 0) % 2 == 1)

    def train(rows, labels):
        ok = [
            r
            for r in rows
            if r["found"] and story_number(labels[r["new"]]) % 2 == 0 and story_number(labels[r["old"]]) % 2 == 0
        ]
        return fit([row_features(r) for r in ok], [r["same"] for r in ok])

    body_model = train([r for r in sides if r["bodies"]], side_labels)
    title_model = train(titles, title_labels)
    models = (title_model, body_model)
    # The story models, from the stories the online verdict weighs (average link at 0.6, so
    # that near misses are among them), even half only.
    examples = ([], [])
    cluster(titles, len(title_labels), models, 0.6, collect=examples, labels=title_labels)
    cluster(sides, len(side_labels), models, 0.6, collect=examples, labels=side_labels)
    stories = tuple(fit([x for x, _ in e], [y for _, y in e]) for e in examples)
    print("// Fitted by benches/train_pairs.py on the even AllSides stories; see docs/clustering.md.")
    for name, m in (
        ("HEADLINES", title_model),
        ("BODIES", body_model),
        ("STORY_HEADLINES", stories[0]),
        ("STORY_BODIES", stories[1]),
    ):
        weights = ", ".join(f"{w:.4f}" for w in m[1])
        print(f"const {name}: Model<{len(m[1])}> = Model {{ bias: {m[0]:.4f}, weights: [{weights}] }};")
    theta_list = [float(t) for t in args[1:]] or [0.8, 0.85, 0.9, 0.92]
    for theta in theta_list:
        f = cluster(sides, len(side_labels), models, theta, stories)
        a, e, o = (
            b3(side_labels, f, lambda i: True),
            b3(side_labels, f, even(side_labels)),
            b3(side_labels, f, odd(side_labels)),
        )
        ft = cluster(titles, len(title_labels), models, theta, stories)
        te = b3(title_labels, ft, even(title_labels))
        line = (
            f"theta {theta:.2f}  AllSides even {e[0]:.3f}/{e[1]:.3f}/{e[2]:.3f}"
            f"  | headlines alone, even {te[0]:.3f}/{te[1]:.3f}/{te[2]:.3f}"
        )
        if held_out:
            fu = cluster(uci, len(uci_labels), models, theta, stories)
            u = b3(uci_labels, fu, lambda i: True)
            line += (
                f"  || all {a[0]:.3f}/{a[1]:.3f}/{a[2]:.3f}  odd {o[0]:.3f}/{o[1]:.3f}/{o[2]:.3f}"
                f"  UCI {u[0]:.3f}/{u[1]:.3f}/{u[2]:.3f}"
            )
        print(line)


if __name__ == "__main__":
    main()
