"""Rebuilds results/dni/README.md from the summaries the DNI experiments wrote.

    python3 experiments/dni_tables.py RES FAMILY COMMIT EPOCHS

FAMILY (mnist, cnn, preact, preact-mlp, sgwidth, decay, decay-wide, orth, identity, identityworkers, floor, floor-orth, floor-identity, sgrate, cifar10, cifar10-cnn, fashion-mnist, copy or charlm) is the experiment that just ran at COMMIT; RES/commits.json keeps
each family's commit, so regenerating the tables never restamps another family's results."""
import glob
import json
import os
import statistics
import sys

res, family, commit, epochs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
commits_path = f"{res}/commits.json"
commits = json.load(open(commits_path)) if os.path.exists(commits_path) else {}
commits[family] = commit
with open(commits_path, "w") as f:
    json.dump(commits, f, indent=2, sort_keys=True)
    f.write("\n")
runs = {}
for p in glob.glob(f"{res}/*.json"):
    if p == commits_path:
        continue
    try:
        runs[os.path.basename(p)[:-5]] = json.load(open(p))
    except json.JSONDecodeError:
        print(f"skipping {p}: not a finished summary", file=sys.stderr)


def finished(prefix):
    """The finished runs (those with a test error) whose names start with `prefix`."""
    return {k: v for k, v in runs.items() if k.startswith(prefix) and "test_error" in v}


def pct(x):
    return f"{100 * x:.2f}"


def cell(errs):
    """(mean, 'mean ± sd (n=…)') of test errors, (None, '–') for none."""
    if not errs:
        return None, "–"
    m = statistics.mean(errs)
    sd = statistics.stdev(errs) if len(errs) > 1 else 0.0
    return m, f"{pct(m)} ± {pct(sd)} (n={len(errs)})"


def gap(m, b):
    """m − b in points ('+0.12'), '–' if either mean is missing."""
    return f"{100 * (m - b):+.2f}" if m is not None and b is not None else "–"


def stat(group, prefix):
    """cell() of the test errors of the runs in `group` whose names start with `prefix`."""
    return cell([v["test_error"] for k, v in group.items() if k.startswith(prefix)])


def took(name, count, what="These"):
    """The line saying how long the sweep timed in RES/`name`.json took for its `count` runs."""
    t = runs.get(name)
    if t and "note" in t:  # a sweep made in parts says so itself
        return ["", t["note"]]
    return ["", f"{what} {count} runs took {t['seconds'] / 60:.1f} minutes."] if t else []


def epochs_of(group):
    """The epochs a family ran, from one of its runs' command lines (EPOCHS, the family just run,
    where none says), so that rebuilding after another family never restamps this one's length."""
    args = next(iter(group.values()), {}).get("args", "").split()
    return args[args.index("--epochs") + 1] if "--epochs" in args else epochs


def section(title, intro, columns):
    """A section's heading, its introduction (lines) and the head of its table."""
    return [f"## {title}", "", *intro, "", "| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]


def cnn_rows(group, prefix):
    """Table rows (method, filters, epochs, test error, seconds) of the CNN runs `prefix`METHOD."""
    rows = []
    for m in ("backprop", "dni", "cdni"):
        v = group.get(prefix + m)
        if v:
            a = v["args"].split()
            width, ep = a[a.index("--width") + 1], a[a.index("--epochs") + 1]
            rows.append(f"| {m} | {width} | {ep} | {pct(v['test_error'])} | {v['seconds']:.0f} |")
    return rows


depth = finished("depth-")
out = [
    "# DNI on MNIST, Fashion-MNIST and CIFAR-10",
    "",
    f"Made by `EPOCHS={epochs_of(depth)} experiments/dni-mnist.sh` at commit `{commits.get('mnist', '?')}`, 2 threads, on the",
    "2-core development machine. Test error in percent; every method of a table gets the same number of",
    "updates (epochs of 60,000 examples in batches of 256); Adam 1e-3 for the layers, 1e-2 for the",
    "linear synthetic-gradient models.",
    "",
]
if depth:
    out += [
        "## Fully connected nets, 3 seeds (paper Table 1)",
        "",
        "| layers | backprop | DNI | cDNI | DNI − backprop | cDNI − backprop |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for layers in (3, 4, 5, 6):
        cells, means = [], {}
        for m in ("backprop", "dni", "cdni"):
            mean, text = cell([v["test_error"] for k, v in depth.items() if k.startswith(f"depth-{m}-l{layers}-")])
            cells.append(text)
            if mean is not None:
                means[m] = mean
        gaps = [gap(means.get(m), means.get("backprop")) for m in ("dni", "cdni")]
        out.append(f"| {layers} | " + " | ".join(cells + gaps) + " |")
    t = runs.get("depth-sweep-time")
    if t:
        out += ["", f"The whole sweep ({len(depth)} runs, {t['epochs']} epochs each) took {t['seconds'] / 60:.1f} minutes."]
    out.append("")
pre = finished("preact-dni-")
mlp = finished("preactmlp-dni-")
if pre:
    out += section("DNI at the pre-activation interface, 3 seeds", [
        f"Made by `EPOCHS={epochs_of(pre)} experiments/dni-mnist.sh preact` at commit `{commits.get('preact', '?')}`: unconditional DNI",
        "with modules meeting after batch norm and before the ReLU (`--interface preactivation`), so that",
        "M_i predicts ∂L/∂z_i; synthetic-gradient rate 3e-3 (chosen on 3 layers, seed 0, among 3e-4 to",
        "3e-2). *MLP M_i*: the same with M_i of 1,024 hidden units (Linear, batch norm, ReLU;",
        f"`--sg-hidden 1024`), made by `EPOCHS={epochs_of(mlp)} experiments/dni-mnist.sh preact-mlp` at commit",
        f"`{commits.get('preact-mlp', '?')}`. Backprop and DNI at the output interface from the table above.",
    ], ["layers", "DNI, pre-activation", "DNI, pre-activation, MLP M_i", "DNI, output", "backprop",
        "pre-activation − backprop", "MLP M_i − backprop"])
    for layers in (3, 4, 5, 6):
        p_m, p_cell = stat(pre, f"preact-dni-l{layers}-")
        m_m, m_cell = stat(mlp, f"preactmlp-dni-l{layers}-")
        _, o_cell = stat(depth, f"depth-dni-l{layers}-")
        b_m, b_cell = stat(depth, f"depth-backprop-l{layers}-")
        gaps = [gap(m, b_m) for m in (p_m, m_m)]
        out.append(f"| {layers} | {p_cell} | {m_cell} | {o_cell} | {b_cell} | " + " | ".join(gaps) + " |")
    out += took("preact-sweep-time", len(pre)) + took("preactmlp-sweep-time", len(mlp), "The MLP M_i's")[1:] + [""]
widths = finished("sgwidth-")
if widths:
    out += section("The width of M_i, DNI at the pre-activation, 4 layers", [
        f"Made by `EPOCHS={epochs_of(widths)} experiments/dni-mnist.sh sgwidth` at commit `{commits.get('sgwidth', '?')}`: M_i with one",
        "hidden layer (Linear, batch norm, ReLU) of the given width, synthetic-gradient rate 3e-3; 1,024 is",
        "the pre-activation table's. Backprop at 4 layers from the first table.",
    ], ["hidden units", "seed 0", "seeds 0-2", "seeds 0-2 − backprop"])
    b_m, _ = stat(depth, "depth-backprop-l4-")
    for h in (512, 1024, 2048, 4096):
        group = mlp if h == 1024 else widths
        prefix = "preactmlp-dni-l4-" if h == 1024 else f"sgwidth-l4-h{h}-"
        s0 = group.get(prefix + "s0")
        m, text = stat(group, prefix)
        n = sum(k.startswith(prefix) for k in group)
        out.append(f"| {h} | {pct(s0['test_error']) if s0 else '–'} | {text if n > 1 else '–'} | {gap(m, b_m) if n > 1 else '–'} |")
    out += took("sgwidth-sweep-time", len(widths)) + [""]
decay = finished("decay-")
wide = finished("decaywide-")
if decay:
    out += section("The depth protocol with a decayed rate, 3 seeds", [
        f"Made by `EPOCHS={epochs_of(decay)} experiments/dni-mnist.sh decay` at commit `{commits.get('decay', '?')}`: the first table's",
        "protocol with the layers' rate divided by 10 from 60% of the steps and by 100 from 80%",
        "(`--lr-decay`; M_i's rate stays) for every method; DNI at the pre-activation with an MLP M_i",
        "of 1,024 units (batch norm, ReLU) at synthetic-gradient rate 1e-2. *2,048 units*: the same",
        f"DNI with M_i twice as wide, made by `EPOCHS={epochs_of(wide)} experiments/dni-mnist.sh decay-wide` at commit",
        f"`{commits.get('decay-wide', '?')}`.",
    ], ["layers", "backprop", "DNI, pre-activation, MLP M_i", "2,048 units", "cDNI",
        "DNI − backprop", "2,048 units − backprop", "cDNI − backprop"])
    for layers in (3, 4, 5, 6):
        stats = {m: stat(decay, f"decay-{m}-l{layers}-") for m in ("backprop", "dni", "cdni")}
        stats["wide"] = stat(wide, f"decaywide-dni-l{layers}-")
        gaps = [gap(stats[m][0], stats["backprop"][0]) for m in ("dni", "wide", "cdni")]
        out.append(f"| {layers} | " + " | ".join([stats[m][1] for m in ("backprop", "dni", "wide", "cdni")] + gaps) + " |")
    out += took("decay-sweep-time", len(decay)) + took("decaywide-sweep-time", len(wide), "The 2,048-unit M_i's")[1:] + [""]
starts = [("orth", "orth", "Orthogonal initial blocks", "its FC blocks starting from random orthogonal weights",
           "`--orthogonal-init`"),
          ("identity", "identity", "Identity initial blocks", "its square FC blocks starting at the identity and the first at a\n"
           "random orthogonal matrix", "`--identity-init`"),
          ("identityworkers", "identity-workers", "Identity initial blocks, DNI and cDNI on two workers", "its square FC blocks starting at\n"
           "the identity and the first at a random orthogonal matrix; DNI and cDNI on the concurrent trainer, 2 workers\n"
           "of one thread", "`--identity-init`, `--workers 2`")]
for name, part, title, what, flag in starts:
    group = finished(f"{name}-")
    if not group:
        continue
    out += section(f"{title}, the decayed protocol, 3 seeds", [
        f"Made by `EPOCHS={epochs_of(group)} experiments/dni-mnist.sh {part}` at commit "
        f"`{commits.get(name, '?')}`: the decayed",
        f"protocol above, every method with {what}",
        f"({flag}) instead of Kaiming-uniform ones. *Kaiming*: the decayed table's DNI gap.",
    ], ["layers", "backprop", "DNI, pre-activation, MLP M_i", "cDNI", "DNI − backprop",
        "cDNI − backprop", "DNI − backprop, Kaiming"])
    for layers in (3, 4, 5, 6):
        stats = {m: stat(group, f"{name}-{m}-l{layers}-") for m in ("backprop", "dni", "cdni")}
        if all(v[0] is None for v in stats.values()):
            continue
        before = {m: stat(decay, f"decay-{m}-l{layers}-")[0] for m in ("backprop", "dni")}
        gaps = [gap(stats[m][0], stats["backprop"][0]) for m in ("dni", "cdni")]
        gaps.append(gap(before["dni"], before["backprop"]))
        out.append(f"| {layers} | " + " | ".join([stats[m][1] for m in ("backprop", "dni", "cdni")] + gaps) + " |")
    out += took(f"{name}-sweep-time", len(group)) + [""]
floor = finished("floor-l")
floor_orth = finished("floor-orth-")
floor_identity = finished("floor-identity-")
if floor:
    out += section("What the synthetic gradients teach the blocks, 3 seeds", [
        f"Made by `EPOCHS={epochs_of(floor)} experiments/dni-mnist.sh floor` at commit `{commits.get('floor', '?')}`: every block frozen",
        "at its random start (`--freeze LAYERS`), so that the classifier alone learns, on random",
        "features. A method's blocks have learned from their gradients by as much as it is below this.",
        "DNI and backprop from the tables above. *Orthogonal*: the same with orthogonal initial",
        f"blocks (`--orthogonal-init`), made by `EPOCHS={epochs_of(floor_orth)} experiments/dni-mnist.sh floor-orth` at commit",
        f"`{commits.get('floor-orth', '?')}`. *Identity*: the square blocks frozen at the identity and the first",
        f"at a random orthogonal matrix (`--identity-init`), made by `EPOCHS={epochs_of(floor_identity)} experiments/dni-mnist.sh",
        f"floor-identity` at commit `{commits.get('floor-identity', '?')}`.",
    ], ["layers", "classifier alone", "classifier alone, orthogonal", "classifier alone, identity", "DNI, output",
        "DNI, pre-activation", "backprop"])
    groups = [("floor", floor), ("floor-orth", floor_orth), ("floor-identity", floor_identity), ("depth-dni", depth),
              ("preact-dni", pre), ("depth-backprop", depth)]
    for layers in (3, 4, 5, 6):
        cells = [stat(g, f"{name}-l{layers}-")[1] for name, g in groups]
        out.append(f"| {layers} | " + " | ".join(cells) + " |")
    out += took("floor-sweep-time", len(floor))
    out += took("floor-orth-sweep-time", len(floor_orth), "The orthogonal floor's")[1:]
    out += took("floor-identity-sweep-time", len(floor_identity), "The identity floor's")[1:] + [""]
stoch = {k: v for k, v in runs.items() if k.startswith("stochastic-")}
if stoch:
    out += section("Stochastic updates, cDNI, 3 layers (paper Section 3.3)", [
        "Each module updates its layer with probability p at every step. *Equal iterations*: the",
        "same number of steps for every p; *equal updates*: 1/p times as many steps, so that every",
        "layer expects as many updates as at p = 1.",
    ], ["p", "protocol", "epochs", "expected layer updates", "test error", "seconds"])
    for k in sorted(stoch, key=lambda k: (-stoch[k]["update_prob"], k)):
        v = stoch[k]
        ep = int(v["args"].split("--epochs ")[1].split()[0])
        updates = round(ep * (60000 // 256) * v["update_prob"])
        proto = "equal updates" if k.endswith("updates") else "equal iterations"
        out.append(f"| {v['update_prob']} | {proto} | {ep} | {updates} | {pct(v['test_error'])} | {v['seconds']:.0f} |")
    out.append("")
fwd = {k: v for k, v in runs.items() if k.startswith("forward-")}
if fwd:
    out += section("Forward unlocking, 3 layers (paper Section 3.4)", [
        "Decoupled: module i ≥ 1 trains on a synthetic input I_i(x) predicted from the image, and",
        "every block on a conditional synthetic gradient; the test pass runs the true chain.",
    ], ["method", "test error", "seconds"])
    names = {"forward-decoupled": "decoupled (synthetic inputs + cDNI)", "forward-backprop": "backprop",
             "forward-backprop-frozen-first": "backprop, first block frozen at random"}
    for k, label in names.items():
        if k in fwd:
            out.append(f"| {label} | {pct(fwd[k]['test_error'])} | {fwd[k]['seconds']:.0f} |")
    out.append("")
cnn = {k: v for k, v in runs.items() if k.startswith("cnn-")}
if cnn:
    v0 = next(iter(cnn.values()))
    out += section("The paper's CNN (Table 1, CNN columns), 1 seed", [
        f"Made by `FAMILY=cnn experiments/dni-mnist.sh cnn table` at commit `{commits.get('cnn', '?')}`: 3 blocks of a 5×5",
        "convolution (resolution kept), batch norm, ReLU and 3×3 pooling with stride 2 (max, then",
        "average), a linear classifier; synthetic-gradient models are one 5×5 convolution (zero at",
        "first; cDNI adds the label as 10 constant planes). The paper has 128 filters per block; the",
        "filters and epochs used here are in the table (2 cores, no GPU).",
    ], ["method", "filters", "epochs", "test error", "seconds"])
    out += cnn_rows(cnn, "cnn-")
    out.append("")
for ds, title, examples, paper in (("cifar10", "CIFAR-10", "50,000", "paper Table 1, CIFAR-10 columns"),
                                   ("fashion-mnist", "Fashion-MNIST", "60,000", "not in the paper")):
    group = finished(f"{ds}-")
    if not group:
        continue
    seeds = sorted({k.rsplit("-s", 1)[1] for k in group if "-l" in k})
    out += section(f"{title}, fully connected nets, {len(seeds)} seed{'s' if len(seeds) > 1 else ''} ({paper})", [
        f"Made by `EPOCHS={epochs_of(group)} experiments/dni-mnist.sh {ds}` at commit `{commits.get(ds, '?')}`: the depth",
        f"protocol (epochs of {examples} examples in batches of 256, seeds {', '.join(seeds)}) on {title} (`dlp data fetch",
        f"{ds}`), plus DNI at the pre-activation (synthetic-gradient rate 3e-3, as on MNIST).",
    ], ["layers", "backprop", "DNI", "DNI, pre-activation", "cDNI", "DNI − backprop", "cDNI − backprop"])
    for layers in (3, 4, 5, 6):
        stats = {m: cell([v["test_error"] for k, v in group.items() if k.startswith(f"{ds}-{m}-l{layers}-")])
                 for m in ("backprop", "dni", "preact", "cdni")}
        b = stats["backprop"][0]
        gaps = [gap(stats[m][0], b) for m in ("dni", "cdni")]
        out.append(f"| {layers} | " + " | ".join([stats[m][1] for m in ("backprop", "dni", "preact", "cdni")] + gaps) + " |")
    times = [v["seconds"] for k, v in runs.items() if k.startswith(f"{ds}-sweep-time")]
    if times:
        out += ["", f"These {sum(not k.startswith(f'{ds}-cnn-') for k in group)} runs took {sum(times) / 60:.1f} minutes."]
    if any(k.startswith(f"{ds}-cnn-") for k in group):
        out += [
            "",
            f"The CNN above on {title}, 1 seed (`CNN_EPOCHS=E FAMILY={ds}-cnn experiments/dni-mnist.sh {ds}-cnn",
            f"table`, E as in the table, at commit `{commits.get(ds + '-cnn', '?')}`):",
            "",
            "| method | filters | epochs | test error | seconds |",
            "| --- | --- | --- | --- | --- |",
        ]
        out += cnn_rows(group, f"{ds}-cnn-")
    out.append("")
rates = {k: v for k, v in runs.items() if k.startswith("sgrate-")}
if rates:
    out += section("Unconditional DNI and its synthetic-gradient models, 3 layers", [
        f"Made by `FAMILY=sgrate experiments/dni-mnist.sh sgrate table` at commit `{commits.get('sgrate', '?')}`, 5 epochs each.",
    ], ["run", "sg hidden units", "sg rate", "test error"])
    def key(k):
        a = rates[k]["args"].split()
        h = int(a[a.index("--sg-hidden") + 1]) if "--sg-hidden" in a else 0
        r = float(a[a.index("--sg-lr") + 1]) if "--sg-lr" in a else 1e-2
        return (rates[k]["method"], h, r)
    for k in sorted(rates, key=key):
        m, h, r = key(k)
        sg = (str(h), f"{r:g}") if m != "backprop" else ("–", "–")
        out.append(f"| {m} | {sg[0]} | {sg[1]} | {pct(rates[k]['test_error'])} |")
    out.append("")
copies = {k: v for k, v in runs.items() if k.startswith(("copy-", "repeat-copy-"))}
if copies:
    out += section("Copy and Repeat Copy, LSTM of 256 units (paper Table 2)", [
        f"Made by `experiments/dni-copy.sh [TASK]` at commit `{commits.get('copy', '?')}`: truncated BPTT with windows of T steps, with",
        "and without a synthetic gradient (linear, scaled by 0.1) between windows; the curriculum",
        "starts at N = 1 and moves on when the last 100 episodes average under 0.15 wrong bits.",
        "The paper, after far longer training: Copy, BPTT 8 and 8, DNI 14 and 18 at T = 3 and 5.",
    ], ["task", "T", "method", "longest N solved", "updates", "seconds"])
    for k in sorted(copies, key=lambda k: (copies[k]["task"], copies[k]["truncation"], copies[k]["method"])):
        v = copies[k]
        out.append(f"| {v['task']} | {v['truncation']} | {v['method']} | {v['max_length_solved']} | {v['updates']} | {v['seconds']:.0f} |")
    out.append("")
lms = {k: v for k, v in runs.items() if k.startswith("charlm-") and not k.startswith("charlm-sweep")}
if lms:
    out += section("Character-level language modelling (paper Section 3.1, Penn Treebank)", [
        f"Made by `experiments/dni-charlm.sh` at commit `{commits.get('charlm', '?')}`: an LSTM of 256 units, batch 32, on the text of",
        "Re-DocRED dev (English Wikipedia, 551k characters, split 90/5/5; `../shared` has no Penn",
        "Treebank), truncated BPTT with windows of T characters, with and without a synthetic",
        "gradient (linear, scaled by 0.1, learning at 1e-5) between windows. Bits per character:",
        "the best validation value and the test value of the last model.",
    ], ["T", "method", "valid bpc", "test bpc", "updates", "seconds"])
    for k in sorted(lms, key=lambda k: (lms[k]["truncation"], lms[k]["method"])):
        v = lms[k]
        out.append(f"| {v['truncation']} | {v['method']} | {v['valid_bpc']:.3f} | {v['test_bpc']:.3f} | {v['updates']} | {v['seconds']:.0f} |")
    sweep = {k: v for k, v in runs.items() if k.startswith("charlm-sweep")}
    if sweep:
        out += ["", "Rate of the synthetic-gradient model (DNI, T = 3, 1,000 updates; BPTT for reference):", "",
                "| run | valid bpc |", "| --- | --- |"]
        for k in sorted(sweep, key=lambda k: -sweep[k]["config"]["sg_learning_rate"] if sweep[k]["method"] == "dni" else 0):
            v = sweep[k]
            label = "bptt" if v["method"] == "bptt" else f"dni, sg rate {v['config']['sg_learning_rate']:g}"
            out.append(f"| {label} | {v['valid_bpc']:.3f} |")
    out.append("")
open(f"{res}/README.md", "w").write("\n".join(out))
print("\n".join(out))
