"""Train the embedded default model ``qx-tiny`` on the synthetic world, deterministically, on CPU.

    python -m qxbench.world.train --out qxbench/models/qx-tiny      (or: qxbench world train)

Byte-level BPE tokenizer (``tokenizers``) fitted on the training corpus with room for every word of
it (so every entity a probe scores as an answer or a bridge is one token of its own, checked by
:func:`check_entity_tokens`), a small Llama-architecture causal LM, AdamW with warmup + cosine
decay, documents packed into windows that always start at a document boundary (so prompts work with
or without a leading ``</s>``). Same torch version + same thread count => the same weights bit for bit.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from qxbench.world.generate import WorldSpec, build_world, training_documents


@dataclass(frozen=True)
class TrainSpec:
    vocab_size: int = 1024  # an upper bound: BPE stops when every word of the corpus is one token (978)
    hidden_size: int = 256
    intermediate_size: int = 768  # 256 and 768 are multiples of 128: group size 128 divides every layer
    num_layers: int = 4
    num_heads: int = 4
    window: int = 128
    batch_size: int = 32
    steps: int = 1600
    lr: float = 3e-3
    warmup: int = 100
    weight_decay: float = 0.01
    seed: int = 0
    threads: int = 2


def build_tokenizer(docs: list[str], vocab_size: int):  # -> PreTrainedTokenizerFast
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", model_max_length=512
    )


def entity_tokens(tokenizer, world) -> dict[str, list[int]]:  # -> {entity: its token ids after a space}
    """The token ids of every entity a probe scores by its first token: countries (answers and bridge
    entities), capitals and languages, each as it follows a space in a prompt's completion."""
    entities = list(world.countries) + [f.object for f in world.facts if f.relation in ("capital", "language")]
    return {e: tokenizer(" " + e, add_special_tokens=False)["input_ids"] for e in dict.fromkeys(entities)}


def check_entity_tokens(tokenizer, world) -> None:
    """Raise unless every entity's first token is its own (not shared with another entity, not a bare
    space): otherwise recall, gold rank, calibration and EntRec would score first letters."""
    owners: dict[int, list[str]] = {}
    for entity, ids in entity_tokens(tokenizer, world).items():
        owners.setdefault(ids[0], []).append(entity)
    bad = {tokenizer.convert_ids_to_tokens(t): names for t, names in owners.items()
           if len(names) > 1 or tokenizer.decode([t]).strip() == ""}
    if bad:
        shown = "; ".join(f"{tok!r}: {', '.join(names)}" for tok, names in sorted(bad.items()))
        raise ValueError(f"{len(bad)} first token(s) do not belong to one entity ({shown}); "
                         f"raise vocab_size (now {len(tokenizer)})")


def pack(token_docs: list[list[int]], window: int, eos: int, pad: int, rng: random.Random) -> torch.Tensor:
    """Shuffle documents and pack them (each followed by ``eos``) into windows that start at a document."""
    order = list(range(len(token_docs)))
    rng.shuffle(order)
    rows: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        doc = token_docs[i] + [eos]
        if len(doc) > window:
            raise ValueError(f"document {i} has {len(doc)} tokens, more than the window of {window}")
        if len(cur) + len(doc) > window:
            rows.append(cur + [pad] * (window - len(cur)))
            cur = []
        cur += doc
    if cur:
        rows.append(cur + [pad] * (window - len(cur)))
    return torch.tensor(rows, dtype=torch.long)


def train(
    out: Path, spec: TrainSpec | None = None, world_spec: WorldSpec | None = None, log_every: int = 100
) -> dict:
    from transformers import LlamaConfig, LlamaForCausalLM

    spec, world_spec = spec or TrainSpec(), world_spec or WorldSpec()
    torch.manual_seed(spec.seed)
    torch.set_num_threads(spec.threads)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(spec.seed)

    world = build_world(world_spec)
    docs = training_documents(world)
    tokenizer = build_tokenizer(docs, spec.vocab_size)
    check_entity_tokens(tokenizer, world)
    token_docs = [tokenizer(d, add_special_tokens=False)["input_ids"] for d in docs]
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads,
        max_position_embeddings=512,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=eos,
        pad_token_id=pad,
    )
    model = LlamaForCausalLM(config)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": spec.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=spec.lr, betas=(0.9, 0.98),
    )

    def lr_at(step: int) -> float:
        if step < spec.warmup:
            return spec.lr * (step + 1) / spec.warmup
        progress = (step - spec.warmup) / max(1, spec.steps - spec.warmup)
        return spec.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))

    batches = pack(token_docs, spec.window, eos, pad, rng)
    cursor, losses, t0 = 0, [], time.perf_counter()
    for step in range(spec.steps):
        if cursor + spec.batch_size > len(batches):
            batches, cursor = pack(token_docs, spec.window, eos, pad, rng), 0
        ids = batches[cursor : cursor + spec.batch_size]
        cursor += spec.batch_size
        labels = ids.masked_fill(ids == pad, -100)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        loss = model(input_ids=ids, attention_mask=(ids != pad).long(), labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if log_every and (step % log_every == 0 or step == spec.steps - 1):
            elapsed = time.perf_counter() - t0
            print(f"step {step:5d}  loss {loss.item():.4f}  lr {lr_at(step):.2e}  {elapsed:.0f}s", flush=True)

    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    meta = {
        "train_spec": asdict(spec),
        "world_spec": asdict(world_spec),
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(time.perf_counter() - t0, 1),
        "final_loss": sum(losses[-50:]) / len(losses[-50:]),
        "torch": torch.__version__,
        "documents": len(docs),
    }
    (out / "qx_training.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv: list[str] | None = None) -> None:
    from qxbench.models import EMBEDDED_MODEL_DIR

    p = argparse.ArgumentParser(prog="qxbench world train", description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=EMBEDDED_MODEL_DIR, help="output directory (default: packaged qx-tiny)")
    p.add_argument("--steps", type=int, default=TrainSpec.steps)
    p.add_argument("--threads", type=int, default=TrainSpec.threads)
    args = p.parse_args(argv)
    meta = train(args.out, TrainSpec(steps=args.steps, threads=args.threads))
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
