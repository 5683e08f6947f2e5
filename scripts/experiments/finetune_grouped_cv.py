"""Experiment (not product code): does fine-tuning all-MiniLM-L6-v2 generalise to unseen questions?

Why it is kept: the Scoring issue invites a fine-tuned head or cross-encoder "if it generalises
to unseen questions". This script is how that was measured (2026-11-23, on a lent H100; it
runs on a CPU too, slowly): SAF train without the "No submission." rows, GroupKFold(4) by
question text, out-of-fold Pearson after each epoch, two seeds, three variants:

* bi       — the encoder fine-tuned end to end so that sigmoid(w1·cos(answer, reference)
             + w2·cos(answer, question) + b) fits the grade;
* bi_top2  — the same with only the top two layers trainable;
* cross    — a cross-encoder: (question + reference, answer) → mean pool → linear → sigmoid.

Measured: bi 0.24-0.31, bi_top2 0.24-0.31, cross 0.00-0.16, against 0.47-0.49 for the
feature model in `nlu/scoring` on the same folds. With 16 training questions the fine-tuned
models learn the questions, not grading. Usage (a copy of the model and the SAF files in
one folder): `python finetune_grouped_cv.py` with the folder as the working directory.
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import pearsonr
from sklearn.model_selection import GroupKFold
from torch import nn
from transformers import AutoModel, AutoTokenizer

HERE = Path.cwd()
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
OUT = Path(os.environ.get("OUT", "/tmp"))
QUICK = os.environ.get("QUICK") == "1"  # a tenth of the data, one epoch: a smoke test

with (HERE / "saf_train.csv").open(encoding="utf-8") as fh:
    ROWS = [r for r in csv.DictReader(fh) if len(r["student_answer"].split()) >= 4]
if QUICK:
    ROWS = ROWS[::10]
Y = np.array([float(r["score"]) for r in ROWS], dtype=np.float32)
GROUPS = np.array([" ".join(r["question"].split()) for r in ROWS])
TOK = AutoTokenizer.from_pretrained(str(HERE / "model"))


def _encoder() -> nn.Module:
    return AutoModel.from_pretrained(str(HERE / "model"), dtype=torch.float32)


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).float()
    return (hidden * m).sum(1) / m.sum(1)


class Cross(nn.Module):
    """(question + reference, answer) pairs through one encoder, then a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = _encoder()
        self.head = nn.Linear(384, 1)

    def forward(self, batch: list[dict[str, str]]) -> torch.Tensor:
        b = TOK(
            [r["question"] + " " + r["reference_answer"] for r in batch],
            [r["student_answer"] for r in batch],
            truncation="longest_first", max_length=384, padding=True, return_tensors="pt",
        ).to(DEVICE)  # fmt: skip
        pooled = _mean_pool(self.enc(**b).last_hidden_state, b["attention_mask"])
        return torch.sigmoid(self.head(pooled)).squeeze(-1)


class Bi(nn.Module):
    """Answer, reference and question encoded apart; the grade from two cosines."""

    def __init__(self, top2_only: bool = False) -> None:
        super().__init__()
        self.enc = _encoder()
        self.w = nn.Parameter(torch.tensor([4.0, -2.0, 0.0]))
        if top2_only:
            for name, p in self.enc.named_parameters():
                p.requires_grad = "layer.5" in name or "layer.4" in name

    def _embed(self, texts: list[str]) -> torch.Tensor:
        b = TOK(texts, truncation=True, max_length=256, padding=True, return_tensors="pt")
        b = b.to(DEVICE)
        pooled = _mean_pool(self.enc(**b).last_hidden_state, b["attention_mask"])
        return nn.functional.normalize(pooled, dim=-1)

    def forward(self, batch: list[dict[str, str]]) -> torch.Tensor:
        a = self._embed([r["student_answer"] for r in batch])
        ref = self._embed([r["reference_answer"] for r in batch])
        q = self._embed([r["question"] for r in batch])
        return torch.sigmoid(
            self.w[0] * (a * ref).sum(-1) + self.w[1] * (a * q).sum(-1) + self.w[2]
        )


def run(kind: str, seed: int, epochs: int = 4, lr: float = 3e-5, bs: int = 16) -> dict:
    """Out-of-fold predictions after each epoch; prints Pearson per epoch."""
    oof = {e: np.zeros(len(ROWS)) for e in range(1, epochs + 1)}
    for train, test in GroupKFold(4).split(ROWS, Y, GROUPS):
        torch.manual_seed(seed)
        random.seed(seed)
        model = (Cross() if kind == "cross" else Bi(kind == "bi_top2")).to(DEVICE)
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        opt = torch.optim.AdamW(
            [
                {"params": [p for n, p in named if not n.startswith(("head", "w"))], "lr": lr},
                {"params": [p for n, p in named if n.startswith(("head", "w"))], "lr": 1e-2},
            ],
            weight_decay=0.01,
        )
        for epoch in range(1, epochs + 1):
            model.train()
            order = list(train)
            random.shuffle(order)
            for i in range(0, len(order), bs):
                idx = order[i : i + bs]
                pred = model([ROWS[j] for j in idx])
                loss = ((pred - torch.tensor(Y[idx], device=DEVICE)) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                for i in range(0, len(test), 64):
                    idx = test[i : i + 64]
                    oof[epoch][idx] = model([ROWS[j] for j in idx]).float().cpu().numpy()
    scores = {e: round(float(pearsonr(oof[e], Y)[0]), 3) for e in oof}
    print(kind, seed, scores, flush=True)
    return {e: oof[e].tolist() for e in oof}


def main() -> None:
    start = time.time()
    result: dict = {"answer_id": [r["answer_id"] for r in ROWS], "y": Y.tolist()}
    for kind in ["bi", "cross"] if QUICK else ["bi", "bi_top2", "cross"]:
        for seed in [0] if QUICK else [0, 1]:
            result[f"{kind}_{seed}"] = run(kind, seed, epochs=1 if QUICK else 4)
            print("seconds", round(time.time() - start), flush=True)
    (OUT / "oof.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
