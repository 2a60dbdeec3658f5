"""A tiny random Llama for parallelism runs on the CPU engine: 8 attention heads and 4 key-value
heads (the embedded model's 9 and 3 cannot be split over two tensor-parallel ranks), 4 layers,
width 256, float32, with SmolLM2's tokenizer and chat template. Initialised wide (0.3) so
that greedy text changes token by token instead of repeating one near-uniform argmax.

    .venv/bin/python scripts/models/tiny_llama.py OUT_DIR
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from server.engine import embedded_model
from server.settings import Settings


def build(out: Path) -> Path:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=4,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        initializer_range=0.3,
        bos_token_id=1,
        eos_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(out)
    source = embedded_model.prepare(Settings().cache_dir)
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(source / name, out / name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()
