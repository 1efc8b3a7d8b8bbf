#!/usr/bin/env python3
"""Checks that a peer's JSONL agrees with vidflow's on the same frames (standard library only).

    python3 bench/peers/compare.py classify VIDFLOW.jsonl PEER.jsonl
    python3 bench/peers/compare.py detect VIDFLOW.jsonl PEER.jsonl [--px 3]

classify: same frame indexes, and the top-1 label per frame (reports the share that agree and
the largest top-1 score difference). detect: per frame, every vidflow box has a peer box of the
same label whose corners are within --px pixels, and the other way round. Exit 0 when all agree.
"""
import argparse
import json
import sys


def load(path: str) -> dict[int, dict]:
    rows = {}
    for line in open(path, encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            rows[r["frame_index"]] = r.get("results", r)  # vidflow nests under "results"
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=["classify", "detect"])
    ap.add_argument("vidflow")
    ap.add_argument("peer")
    ap.add_argument("--px", type=float, default=3.0, help="detect: largest corner difference in pixels")
    ap.add_argument("--min-agree", type=float, default=1.0, help="classify: share of frames whose top-1 must agree")
    a = ap.parse_args()
    v, p = load(a.vidflow), load(a.peer)
    if sorted(v) != sorted(p):
        print(f"frames differ: vidflow {len(v)}, peer {len(p)}, only in vidflow {sorted(set(v) - set(p))[:5]}, only in peer {sorted(set(p) - set(v))[:5]}")
        return 1
    if a.task == "classify":
        agree = [v[i]["top"][0]["label_id"] == p[i]["top"][0]["label_id"] for i in v]
        dscore = max(abs(v[i]["top"][0]["score"] - p[i]["top"][0]["score"]) for i in v if v[i]["top"][0]["label_id"] == p[i]["top"][0]["label_id"])
        share = sum(agree) / len(agree)
        bad = [i for i, ok in zip(v, agree) if not ok]
        print(f"classify: {len(v)} frames, top-1 agrees on {sum(agree)} ({share:.1%}); largest top-1 score difference {dscore:.4f}; differing frames {bad[:10]}")
        return 0 if share >= a.min_agree else 1
    worst = 0.0
    unmatched = []
    boxes = 0
    for i in sorted(v):
        for mine, other, who in ((v[i]["detections"], p[i]["detections"], "vidflow"), (p[i]["detections"], v[i]["detections"], "peer")):
            for d in mine:
                if who == "vidflow":
                    boxes += 1
                cands = [max(abs(x - y) for x, y in zip(d["box"], o["box"])) for o in other if o["label_id"] == d["label_id"]]
                best = min(cands) if cands else float("inf")
                if best > a.px:
                    unmatched.append((i, who, d["label"], d["score"], d["box"], best))
                else:
                    worst = max(worst, best)
    print(f"detect: {len(v)} frames, {boxes} vidflow boxes; largest corner difference of matched boxes {worst:.2f} px; boxes without a match within {a.px} px: {len(unmatched)}")
    for u in unmatched[:10]:
        print(f"  frame {u[0]}: {u[1]} {u[2]} score {u[3]} box {u[4]} (nearest {u[5]:.2f} px)")
    return 0 if not unmatched else 1


if __name__ == "__main__":
    sys.exit(main())
